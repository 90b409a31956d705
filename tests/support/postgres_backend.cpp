// SPDX-License-Identifier: Apache-2.0
// The factory of the suites written once, for PostgreSQL (support/postgres_backend.hpp).
#include "support/postgres_backend.hpp"

namespace gqs::test {

std::unique_ptr<Backend> make_backend() {
    return std::make_unique<pg_backend::PostgresBackend>(PgVia::Direct);
}

} // namespace gqs::test
