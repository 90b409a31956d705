// SPDX-License-Identifier: Apache-2.0
// Umbrella header for the storage-agnostic core of gqs. Not included: <gqs/json.hpp>, the
// opt-in nlohmann::json view of metadata.
#pragma once

#include <gqs/backend_of.hpp>
#include <gqs/backoff.hpp>
#include <gqs/clean_worker.hpp>
#include <gqs/cron.hpp>
#include <gqs/errors.hpp>
#include <gqs/hooks.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/logger.hpp>
#include <gqs/message.hpp>
#include <gqs/queues.hpp>
#include <gqs/schedule.hpp>
#include <gqs/schedule_worker.hpp>
#include <gqs/schedules.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>
#include <gqs/uuid.hpp>
#include <gqs/version.hpp>
#include <gqs/worker.hpp>
