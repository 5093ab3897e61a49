#!/bin/sh
# Adds up the tests that `make test` ran, from the logs of each suite:
# cargo's "test result:" lines, pytest's "N passed" (the Python binding, and
# the PHP web application's browser and load tests), PHP's run-tests summary.
# Prints one closing line "N passed, N failed" and fails if any test failed
# or a suite ran none.
set -eu
logs=${1:-build/logs}
pytest_counts() {
    awk '/ passed/ && /in [0-9.]+s/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i } } END { print p + 0, f + 0 }' "$1"
}
rust=$(cat "$logs"/rust*.log | awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }')
py=$(pytest_counts "$logs/python.log")
php=$(awk '/^Tests passed *:/ { p = $4 } /^Tests failed *:/ { f = $4 } /^[0-9]+ passed, [0-9]+ failed/ { p = $1; f = $3 } END { print p + 0, f + 0 }' "$logs/php.log")
web=$(pytest_counts "$logs/php-web.log")
set -- $rust $py $php $web
echo "rust: $1 passed, $2 failed; python: $3 passed, $4 failed; php: $5 passed, $6 failed; php web app: $7 passed, $8 failed"
for n in "$1" "$3" "$5" "$7"; do
    [ "$n" -gt 0 ] || { echo "a suite ran no test"; exit 1; }
done
passed=$(($1 + $3 + $5 + $7))
failed=$(($2 + $4 + $6 + $8))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
