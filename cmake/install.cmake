# SPDX-License-Identifier: Apache-2.0
# Install rules: headers, the libraries, gqsConfig.cmake with gqs::core, gqs::sqlite and
# gqs::gqs, and gqs::postgres (each backend when it is built), and their .pc files.
include(CMakePackageConfigHelpers)

set(GQS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/gqs" CACHE STRING
    "Where gqsConfig.cmake is installed")

# One export set per library: gqsTargets.cmake (gqs::core) names neither SQLiteCpp nor libpq,
# so gqsConfig.cmake finds gqs::core, and gqs::postgres, for a user without SQLite, and
# gqs::gqs for a SQLite-only user without libpq.
function(gqs_install_library export_set)
  install(TARGETS ${ARGN} EXPORT ${export_set}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT ${export_set} NAMESPACE gqs:: DESTINATION ${GQS_INSTALL_CMAKEDIR})
endfunction()
gqs_install_library(gqsTargets gqs_core)
# Without a backend's library its headers would only promise link errors.
set(_gqs_header_excludes "")
if(TARGET gqs_sqlite)
  gqs_install_library(gqsSqliteTargets gqs_sqlite gqs)
else()
  list(APPEND _gqs_header_excludes PATTERN "sqlite" EXCLUDE PATTERN "sqlite.hpp" EXCLUDE)
endif()
if(TARGET gqs_postgres)
  gqs_install_library(gqsPostgresTargets gqs_postgres)
else()
  list(APPEND _gqs_header_excludes PATTERN "postgres" EXCLUDE PATTERN "postgres.hpp" EXCLUDE)
endif()
install(DIRECTORY include/gqs DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} ${_gqs_header_excludes})

configure_package_config_file(cmake/gqsConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/gqsConfig.cmake"
  INSTALL_DESTINATION ${GQS_INSTALL_CMAKEDIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/gqsConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/gqsConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/gqsConfigVersion.cmake"
        DESTINATION ${GQS_INSTALL_CMAKEDIR})

# gqs.pc finds the prefix from its own place (pkg-config's ${pcfiledir}), so an install
# moved elsewhere, or made with `cmake --install --prefix`, still works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(GQS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _gqs_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _gqs_pc_up "${_gqs_pc_up}")
  set(GQS_PC_PREFIX "\${pcfiledir}/${_gqs_pc_up}")
endif()
# gqs-core.pc, gqs-sqlite.pc, gqs-postgres.pc, and gqs.pc (core + SQLite, as before 0.2.0).
function(gqs_pc_file name target)
  get_target_property(GQS_PC_OUTPUT_NAME ${target} OUTPUT_NAME)
  if(NOT GQS_PC_OUTPUT_NAME)
    set(GQS_PC_OUTPUT_NAME ${target})
  endif()
  configure_file(cmake/${name}.pc.in "${CMAKE_CURRENT_BINARY_DIR}/${name}.pc" @ONLY)
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/${name}.pc"
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
gqs_pc_file(gqs-core gqs_core)
if(TARGET gqs_sqlite)
  gqs_pc_file(gqs-sqlite gqs_sqlite)
  gqs_pc_file(gqs gqs_sqlite)
endif()
if(TARGET gqs_postgres)
  gqs_pc_file(gqs-postgres gqs_postgres)
endif()
