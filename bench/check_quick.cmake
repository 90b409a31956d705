# SPDX-License-Identifier: Apache-2.0
# Runs `gqs_bench --quick` (path in BENCH): it must exit 0 and print a line for every workload.
execute_process(COMMAND "${BENCH}" --quick
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
message("${output}")
if(errors)
  message("stderr:\n${errors}")
endif()
if(NOT result EQUAL 0)
  message(FATAL_ERROR "gqs_bench --quick exited with ${result}")
endif()
if(NOT output MATCHES "# gqs_bench date=[^ ]+ sqlite=[^ ]+ sync=NORMAL")
  message(FATAL_ERROR "gqs_bench --quick printed no header line")
endif()
# The baseline must run the SQL gqs runs, or every ratio compares different work.
if(NOT output MATCHES " sql=identical")
  message(FATAL_ERROR "the baseline's SQL differs from gqs's: update bench/raw_queue.hpp")
endif()
foreach(name push push_batch pull_complete_1 pull_complete_100 worker_drain_c1 worker_drain_c4
             scale backlog_1k backlog_100k)
  if(NOT output MATCHES "(^|\n)${name} gqs_jobs_per_s=[0-9]+ raw_jobs_per_s=[0-9]+ ratio=[0-9.]+")
    message(FATAL_ERROR "gqs_bench --quick printed no line for ${name}")
  endif()
endforeach()
if(NOT output MATCHES "(^|\n)latency p50_us=[0-9]+ p99_us=[0-9]+")
  message(FATAL_ERROR "gqs_bench --quick printed no line for latency")
endif()
if(NOT output MATCHES "(^|\n)idle cpu_percent=[0-9.]+ polls=[0-9]+ write_polls=[0-9]+ seconds=[0-9.]+")
  message(FATAL_ERROR "gqs_bench --quick printed no line for idle")
endif()
if(NOT output MATCHES
   "(^|\n)memory heap_growth_kib_1k=[0-9]+ heap_growth_kib_1m=[0-9]+ ratio=[0-9.]+ jobs=[0-9]+")
  message(FATAL_ERROR "gqs_bench --quick printed no line for memory")
endif()
