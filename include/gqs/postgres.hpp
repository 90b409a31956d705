// SPDX-License-Identifier: Apache-2.0
// Umbrella header for the PostgreSQL backend of gqs (target gqs::postgres).
#pragma once

#include <gqs/gqs.hpp>
#include <gqs/postgres/admin.hpp>
#include <gqs/postgres/cleaner.hpp>
#include <gqs/postgres/connection.hpp>
#include <gqs/postgres/observer.hpp>
#include <gqs/postgres/puller.hpp>
#include <gqs/postgres/pusher.hpp>
#include <gqs/postgres/queues.hpp>
#include <gqs/postgres/schedules.hpp>
#include <gqs/postgres/schema.hpp>
