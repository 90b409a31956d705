// SPDX-License-Identifier: Apache-2.0
// Umbrella header for the PostgreSQL backend of gqs (target gqs::postgres). Work in progress:
// the connection and the schema so far; the Pusher, Puller and the rest follow.
#pragma once

#include <gqs/gqs.hpp>
#include <gqs/postgres/connection.hpp>
#include <gqs/postgres/schema.hpp>
