SELECT pg_notify('gqs.gqs_s', 'q1');
