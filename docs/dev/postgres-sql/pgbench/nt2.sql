SELECT set_config('synchronous_commit', 'off', true), pg_notify('gqs.gqs_s', 'q1');
