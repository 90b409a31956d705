// SPDX-License-Identifier: Apache-2.0
// Umbrella header for the SQLite backend of gqs.
#pragma once

#include <gqs/gqs.hpp>
#include <gqs/sqlite/admin.hpp>
#include <gqs/sqlite/cleaner.hpp>
#include <gqs/sqlite/connection.hpp>
#include <gqs/sqlite/observer.hpp>
#include <gqs/sqlite/puller.hpp>
#include <gqs/sqlite/pusher.hpp>
#include <gqs/sqlite/queues.hpp>
#include <gqs/sqlite/schedules.hpp>
#include <gqs/sqlite/schema.hpp>
