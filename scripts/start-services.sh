#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ (used by the daemon-path tests) are running; start them if they are not.
set -uo pipefail
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if command -v rabbitmq-diagnostics >/dev/null 2>&1 && ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    rabbitmq-server -detached || true
    for _ in $(seq 1 30); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
fi
exit 0
