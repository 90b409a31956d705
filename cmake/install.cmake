# SPDX-License-Identifier: Apache-2.0
# Install rules: headers, the library, gqsConfig.cmake with gqs::gqs, and gqs.pc.
include(CMakePackageConfigHelpers)

set(GQS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/gqs" CACHE STRING
    "Where gqsConfig.cmake is installed")

install(TARGETS gqs EXPORT gqsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The PostgreSQL backend is not installed yet (work in progress): neither are its headers.
install(DIRECTORY include/gqs DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN "postgres" EXCLUDE PATTERN "postgres.hpp" EXCLUDE)
install(EXPORT gqsTargets NAMESPACE gqs:: DESTINATION ${GQS_INSTALL_CMAKEDIR})

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
