<?php
/* A small .phpt runner for machines without PHP's run-tests.php (it comes
 * with php-dev): runs each test's --FILE-- with the whefs extension
 * ($WHEFS_PHP_EXTENSION), after its --SKIPIF--, and compares the output
 * with --EXPECT-- or --EXPECTF-- (%s %S %a %A %d %i %x %f %c %w %e) as
 * run-tests.php does: both trimmed, line ends normalized.
 *
 *     WHEFS_PHP_EXTENSION=/path/whefs.so php -n run.php [dir or .phpt files]
 *
 * Prints one line per test and "N passed, N failed, N skipped"; exits 1 if
 * a test failed. */

declare(strict_types=1);

$ext = getenv('WHEFS_PHP_EXTENSION');
if ($ext === false || !is_file($ext)) {
    fwrite(STDERR, "run.php: set WHEFS_PHP_EXTENSION to the built whefs.so\n");
    exit(2);
}
$files = [];
foreach (array_slice($argv, 1) ?: [__DIR__] as $arg) {
    $files = array_merge($files, is_dir($arg) ? glob("$arg/*.phpt") : [$arg]);
}
$files = array_map('realpath', $files);
sort($files);

/** The sections of a .phpt file: name => text. */
function sections(string $file): array
{
    $sections = [];
    $name = null;
    foreach (preg_split('/(?<=\n)/', file_get_contents($file)) as $line) {
        if (preg_match('/^--([A-Z_]+)--\r?\n?$/', $line, $m)) {
            $name = $m[1];
            $sections[$name] = '';
        } elseif ($name !== null) {
            $sections[$name] .= $line;
        }
    }
    return $sections;
}

/** Runs PHP code from a file next to the test (so __DIR__ is the tests' directory). */
function run_code(string $test, string $code, string $ext, string $suffix): string
{
    $script = preg_replace('/\.phpt$/', ".$suffix.php", $test);
    file_put_contents($script, $code);
    $cmd = [PHP_BINARY, '-n', '-d', "extension=$ext", '-d', 'display_errors=1', '-d', 'error_reporting=-1', $script];
    $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes, dirname($test));
    $out = stream_get_contents($pipes[1]);
    fclose($pipes[1]);
    proc_close($proc);
    unlink($script);
    return $out;
}

/** An --EXPECTF-- text as a regular expression. */
function expectf_regex(string $expected): string
{
    $map = [
        '%e' => preg_quote(DIRECTORY_SEPARATOR, '/'), '%s' => '[^\r\n]+', '%S' => '[^\r\n]*',
        '%a' => '.+', '%A' => '.*', '%w' => '\s*', '%i' => '[+-]?\d+', '%d' => '\d+',
        '%x' => '[0-9a-fA-F]+', '%f' => '[+-]?\.?\d+\.?\d*(?:[Ee][+-]?\d+)?', '%c' => '.',
    ];
    $regex = preg_quote($expected, '/');
    return '/^' . strtr($regex, $map) . '$/s';
}

$passed = $failed = $skipped = 0;
foreach ($files as $file) {
    $s = sections($file);
    $title = trim($s['TEST'] ?? basename($file));
    if (isset($s['SKIPIF'])) {
        $skip = trim(run_code($file, $s['SKIPIF'], $ext, 'skip'));
        if (stripos($skip, 'skip') === 0) {
            echo "SKIP $title ($skip)\n";
            $skipped++;
            continue;
        }
    }
    $out = trim(str_replace("\r\n", "\n", run_code($file, $s['FILE'] ?? '', $ext, 'run')));
    if (isset($s['EXPECTF'])) {
        $ok = (bool)preg_match(expectf_regex(trim(str_replace("\r\n", "\n", $s['EXPECTF']))), $out);
        $expected = $s['EXPECTF'];
    } else {
        $expected = trim(str_replace("\r\n", "\n", $s['EXPECT'] ?? ''));
        $ok = $out === $expected;
    }
    if ($ok) {
        echo "PASS $title\n";
        $passed++;
    } else {
        echo "FAIL $title [$file]\n--- expected\n", rtrim($expected), "\n--- got\n", $out, "\n---\n";
        $failed++;
    }
}
echo "$passed passed, $failed failed, $skipped skipped\n";
exit($failed > 0 ? 1 : 0);
