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
# Fails the test with `what` unless some output matches `pattern`.
function(require pattern what)
  if(NOT output MATCHES "${pattern}")
    message(FATAL_ERROR "${what}")
  endif()
endfunction()
require("# gqs_bench date=[^ ]+ sqlite=[^ ]+ sync=NORMAL" "gqs_bench --quick printed no header line")
# The baseline must run the SQL gqs runs, or every ratio compares different work.
require(" sql=identical" "the baseline's SQL differs from gqs's: update bench/raw_queue.hpp")
foreach(name push push_batch push_unique pull_complete_1 pull_complete_100 worker_drain_c1
             worker_drain_c4 worker_drain_q100_c1 worker_drain_q100_c4 worker_drain_shared_c4 scale
             backlog_1k backlog_100k backlog_queues priority_wall)
  require("(^|\n)${name} gqs_jobs_per_s=[0-9]+ raw_jobs_per_s=[0-9]+ ratio=[0-9.]+"
          "gqs_bench --quick printed no line for ${name}")
endforeach()
require("(^|\n)backlog_queues [^\n]* gqs_jobs_per_s_1k=[0-9]+ raw_jobs_per_s_1k=[0-9]+ cost_100k_vs_1k=[0-9.]+ raw_cost_100k_vs_1k=[0-9.]+"
        "gqs_bench --quick printed no 1k comparison for backlog_queues")
require("(^|\n)priority_wall [^\n]* gqs_jobs_per_s_no_wall=[0-9]+ raw_jobs_per_s_no_wall=[0-9]+ cost_wall_vs_none=[0-9.]+ raw_cost_wall_vs_none=[0-9.]+"
        "gqs_bench --quick printed no no-wall comparison for priority_wall")
require("(^|\n)worker_drain_shared_c4 [^\n]* fresh_jobs_per_s=[0-9]+ shared_vs_fresh=[0-9.]+"
        "gqs_bench --quick printed no fresh-Connection comparison for worker_drain_shared_c4")
require("(^|\n)latency p50_us=[0-9]+ p99_us=[0-9]+" "gqs_bench --quick printed no line for latency")
require("(^|\n)latency_xproc p50_us=[0-9]+ p99_us=[0-9]+"
        "gqs_bench --quick printed no line for latency_xproc")
require("(^|\n)latency_xproc_100hz p50_us=[0-9]+ p99_us=[0-9]+"
        "gqs_bench --quick printed no line for latency_xproc_100hz")
require("(^|\n)idle cpu_percent=[0-9.]+ polls=[0-9]+ write_polls=[0-9]+ seconds=[0-9.]+"
        "gqs_bench --quick printed no line for idle")
require("(^|\n)memory heap_growth_kib_1k=[0-9]+ heap_growth_kib_1m=[0-9]+ ratio=[0-9.]+ jobs=[0-9]+"
        "gqs_bench --quick printed no line for memory")
require("(^|\n)schedule_tick look_us=[0-9.]+ tick_us=[0-9.]+ done_jobs=0 schedules=[0-9]+ due=[0-9]+"
        "gqs_bench --quick printed no line for schedule_tick without Done jobs")
require("(^|\n)schedule_tick look_us=[0-9.]+ tick_us=[0-9.]+ done_jobs=[1-9][0-9]* [^\n]* look_vs_no_done=[0-9.]+ tick_vs_no_done=[0-9.]+"
        "gqs_bench --quick printed no line for schedule_tick with Done jobs")
require("(^|\n)limited_pull gqs_jobs_per_s=[0-9]+ open_jobs_per_s=[0-9]+ ratio=[0-9.]+"
        "gqs_bench --quick printed no line for limited_pull")
