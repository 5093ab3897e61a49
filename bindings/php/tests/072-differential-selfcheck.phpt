--TEST--
Differential: the runner reports a step that differs, with both outcomes, and a known difference without its values
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/differential.inc';

run_differential([
    'a step that differs' => static function (Trace $t, string $base): void {
        $t->step('same', fn() => is_dir($base));
        $t->step('differs', fn() => str_starts_with($base, 'whefs://') ? trigger_error('w', E_USER_WARNING) : 7);
        $t->step('known', fn() => str_starts_with($base, '/'), known: 'the reason');
    },
    'a scenario with no steps' => static function (Trace $t, string $base): void {
    },
]);
--EXPECT--
a step that differs: DIFFERS
  differs: plain 7, whefs true + warning
  known difference: known (the reason)
a scenario with no steps: DIFFERS
  (no steps ran)
0 of 2 scenarios act the same, but for 1 known differences
