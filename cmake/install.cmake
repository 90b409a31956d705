# SPDX-License-Identifier: Apache-2.0
# Install rules: headers, the libraries, gqsConfig.cmake with gqs::gqs (and gqs::postgres when
# it is built), gqs.pc and gqs-postgres.pc.
include(CMakePackageConfigHelpers)

set(GQS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/gqs" CACHE STRING
    "Where gqsConfig.cmake is installed")

install(TARGETS gqs EXPORT gqsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gqsTargets NAMESPACE gqs:: DESTINATION ${GQS_INSTALL_CMAKEDIR})

# gqs::postgres has an export set of its own: gqsTargets.cmake then never names libpq, so
# gqsConfig.cmake finds gqs::gqs for SQLite-only users who have no libpq installed.
if(TARGET gqs_postgres)
  install(TARGETS gqs_postgres EXPORT gqsPostgresTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT gqsPostgresTargets NAMESPACE gqs:: DESTINATION ${GQS_INSTALL_CMAKEDIR})
  install(DIRECTORY include/gqs DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
else()
  # Without the backend's library its headers would only promise link errors.
  install(DIRECTORY include/gqs DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          PATTERN "postgres" EXCLUDE PATTERN "postgres.hpp" EXCLUDE)
endif()

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
configure_file(cmake/gqs.pc.in "${CMAKE_CURRENT_BINARY_DIR}/gqs.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/gqs.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET gqs_postgres)
  get_target_property(GQS_POSTGRES_OUTPUT_NAME gqs_postgres OUTPUT_NAME)
  if(NOT GQS_POSTGRES_OUTPUT_NAME)
    set(GQS_POSTGRES_OUTPUT_NAME gqs_postgres)
  endif()
  configure_file(cmake/gqs-postgres.pc.in "${CMAKE_CURRENT_BINARY_DIR}/gqs-postgres.pc" @ONLY)
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/gqs-postgres.pc"
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
