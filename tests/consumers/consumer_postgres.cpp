// SPDX-License-Identifier: Apache-2.0
// The program the gqs::postgres consumers build: it links libpq and needs no server.
#include <gqs/postgres.hpp>

#include <iostream>

int main() {
    try {
        auto connection =
            gqs::postgres::Connection::open("host=/nonexistent-gqs-dir dbname=x connect_timeout=1");
        std::cerr << "connected to a server that cannot exist\n";
        return 1;
    } catch (const gqs::StorageError& e) {
        if (e.kind() != gqs::StorageErrorKind::ConnectionLost) {
            std::cerr << "unexpected kind " << gqs::to_string(e.kind()) << ": " << e.what() << "\n";
            return 1;
        }
    }
    std::cout << "consumer ok (gqs::postgres " << gqs::version_string << ")\n";
    return 0;
}
