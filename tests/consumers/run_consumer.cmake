# SPDX-License-Identifier: Apache-2.0
# cmake -P script: configure, build and run one consumer project (see CMakeLists.txt).
# WAY=run only runs PROGRAM, built by another WAY. pkg_config compiles SOURCE (consumer.cpp)
# with PC_MODULE (gqs). GQS_POSTGRES, when set, goes to every build of gqs this script makes.
if(NOT DEFINED SOURCE)
  set(SOURCE "${CONSUMER_DIR}/../consumer.cpp")
endif()
if(NOT DEFINED PC_MODULE)
  set(PC_MODULE gqs)
endif()
set(_gqs_args)
if(DEFINED GQS_POSTGRES)
  list(APPEND _gqs_args "-DGQS_POSTGRES=${GQS_POSTGRES}")
endif()
if(WAY STREQUAL "run")
  execute_process(COMMAND "${PROGRAM}" COMMAND_ERROR_IS_FATAL ANY)
  return()
endif()
if(WAY STREQUAL "install")
  # The fixture: install the build these tests belong to into PREFIX, once.
  file(REMOVE_RECURSE "${PREFIX}")
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${GQS_BINARY_DIR}" --prefix "${PREFIX}"
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS "installed ok: ${PREFIX}")
  return()
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
set(_args)
if((WAY STREQUAL "find_package" OR WAY STREQUAL "pkg_config") AND DEFINED PREFIX)
  set(WORK_PREFIX "${PREFIX}") # installed by the "consumer: install" fixture
elseif(WAY STREQUAL "find_package" OR WAY STREQUAL "pkg_config")
  set(WORK_PREFIX "${WORK_DIR}/prefix")
  # Install gqs alone (no tests, examples, bench, tools) into a private prefix first.
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S "${GQS_SOURCE_DIR}" -B "${WORK_DIR}/gqs-build"
            -DCMAKE_BUILD_TYPE=Release -DGQS_BUILD_TESTS=OFF -DGQS_BUILD_EXAMPLES=OFF
            -DGQS_BUILD_BENCH=OFF -DGQS_BUILD_TOOLS=OFF -DGQS_INSTALL=ON
            "-DCMAKE_INSTALL_PREFIX=${WORK_PREFIX}" ${_gqs_args}
    COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/gqs-build" -j 2
                  COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${WORK_DIR}/gqs-build"
                  COMMAND_ERROR_IS_FATAL ANY)
endif()
if(WAY STREQUAL "find_package" OR WAY STREQUAL "pkg_config")
  list(APPEND _args "-DCMAKE_PREFIX_PATH=${WORK_PREFIX}")
  if(WAY STREQUAL "pkg_config")
    # No CMake at all on the consumer's side: the compiler line comes from gqs.pc (or
    # gqs-postgres.pc).
    file(GLOB _pc_dirs "${WORK_PREFIX}/lib*/pkgconfig" "${WORK_PREFIX}/lib/*/pkgconfig")
    string(REPLACE ";" ":" _pc_path "${_pc_dirs}")
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${_pc_path}"
              pkg-config --cflags --libs ${PC_MODULE}
      OUTPUT_VARIABLE _flags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
    message(STATUS "pkg-config --cflags --libs ${PC_MODULE}: ${_flags}")
    # A PostgreSQL-only user needs neither SQLite nor SQLiteCpp.
    if(PC_MODULE STREQUAL "gqs-postgres" AND _flags MATCHES "[Ss][Qq][Ll][Ii][Tt][Ee]")
      message(FATAL_ERROR "gqs-postgres.pc brings SQLite: ${_flags}")
    endif()
    separate_arguments(_flags UNIX_COMMAND "${_flags}")
    file(MAKE_DIRECTORY "${WORK_DIR}/build")
    execute_process(
      COMMAND c++ "${SOURCE}" -o "${WORK_DIR}/build/consumer" ${_flags}
      COMMAND_ERROR_IS_FATAL ANY)
    execute_process(COMMAND "${WORK_DIR}/build/consumer" "${WORK_DIR}/consumer.db"
                    COMMAND_ERROR_IS_FATAL ANY)
    return()
  endif()
else()
  list(APPEND _args "-DGQS_SOURCE_DIR=${GQS_SOURCE_DIR}" ${_gqs_args})
endif()
execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/build"
          -DCMAKE_BUILD_TYPE=Release ${_args}
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j 2
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${WORK_DIR}/build/consumer" "${WORK_DIR}/consumer.db"
                COMMAND_ERROR_IS_FATAL ANY)
