# SPDX-License-Identifier: Apache-2.0
# Finds gqs's dependencies from the system (Debian: libsqlite3-dev, libsqlitecpp-dev,
# nlohmann-json3-dev, libhowardhinnant-date-dev). A target that already exists (the consumer
# built it) is used as is.
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

# SQLite and SQLiteCpp only for the SQLite backend (GQS_SQLITE): a PostgreSQL-only build
# needs neither.
if(GQS_SQLITE)
  if(NOT TARGET SQLite::SQLite3)
    find_package(SQLite3 REQUIRED)
  endif()

  if(NOT TARGET SQLiteCpp)
    find_package(SQLiteCpp CONFIG QUIET)
  endif()
  # Debian's SQLiteCpp exports a plain `SQLiteCpp` target; without this check a missing
  # package would silently turn into `-lSQLiteCpp` at link time.
  if(NOT TARGET SQLiteCpp)
    message(FATAL_ERROR
      "gqs's SQLite backend needs SQLiteCpp (CMake target 'SQLiteCpp'). On Debian: apt-get install libsqlitecpp-dev "
      "(or GQS_SQLITE=OFF for PostgreSQL only). "
      "Or add SQLiteCpp to your build before gqs, built against the system SQLite "
      "(SQLITECPP_INTERNAL_SQLITE=OFF): two copies of SQLite in one process can corrupt a database.")
  endif()
endif()

if(NOT TARGET nlohmann_json::nlohmann_json)
  find_package(nlohmann_json 3.11 CONFIG QUIET)
endif()
if(NOT TARGET nlohmann_json::nlohmann_json)
  message(FATAL_ERROR
    "gqs needs nlohmann_json (target nlohmann_json::nlohmann_json). "
    "On Debian: apt-get install nlohmann-json3-dev")
endif()

# Howard Hinnant's date library: its tz part (libdate-tz, a compiled library) reads the
# system's tz database for the schedules' time zones. Private to gqs::core, but a real
# library: a static gqs::core passes it on to the link, so gqsConfig.cmake finds it too.
if(NOT TARGET date::date-tz)
  find_package(date CONFIG QUIET)
endif()
if(NOT TARGET date::date-tz)
  message(FATAL_ERROR
    "gqs needs Howard Hinnant's date library with its tz part (target date::date-tz). "
    "On Debian: apt-get install libhowardhinnant-date-dev")
endif()

# libpq, for the PostgreSQL backend (gqs::postgres). Optional: SQLite-only users never need
# it. CMake's FindPostgreSQL needs only libpq-dev (no server headers); pkg-config is the
# fallback for systems whose libpq CMake's module does not find.
if(NOT GQS_POSTGRES STREQUAL "OFF")
  if(NOT TARGET PostgreSQL::PostgreSQL)
    find_package(PostgreSQL QUIET)
  endif()
  if(NOT TARGET PostgreSQL::PostgreSQL)
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(PQ QUIET IMPORTED_TARGET libpq)
      # Not an ALIAS: install(EXPORT) would write the aliased name, PkgConfig::PQ, which a
      # consumer's gqsConfig.cmake does not define.
      if(TARGET PkgConfig::PQ)
        add_library(PostgreSQL::PostgreSQL INTERFACE IMPORTED)
        target_link_libraries(PostgreSQL::PostgreSQL INTERFACE PkgConfig::PQ)
      endif()
    endif()
  endif()
  # CI (GQS_REQUIRE_POSTGRES=1 in the environment) must not quietly lose the backend's tests.
  if(NOT TARGET PostgreSQL::PostgreSQL AND
     (GQS_POSTGRES STREQUAL "ON" OR "$ENV{GQS_REQUIRE_POSTGRES}" STREQUAL "1"))
    message(FATAL_ERROR "the PostgreSQL backend is required (GQS_POSTGRES=ON or "
                        "GQS_REQUIRE_POSTGRES=1) but libpq was not found "
                        "(Debian: apt-get install libpq-dev)")
  endif()
endif()
