<?php
/*
 * filedrop: a small file drop and pastebin. Upload a file or paste text,
 * see the list, view or download a file, delete it. All of its data lives
 * in one place chosen by the server: a whefs container (the default), a
 * directory or an SQLite database (FILEDROP_BACKEND, FILEDROP_STORE; see
 * src/Storage.php). `make php-demo` serves it with nginx and php-fpm.
 *
 * Pages                        API (JSON; what the load test uses)
 *   GET  /                       GET    /api/files        the list
 *   POST /upload  (form)         PUT    /api/files/NAME   body = content
 *   GET  /view/NAME              GET    /api/files/NAME   the content
 *   GET  /files/NAME  download   DELETE /api/files/NAME
 *   POST /delete/NAME (form)
 */

declare(strict_types=1);

namespace Filedrop;

require __DIR__ . '/../../../src/Whefs.php';
require __DIR__ . '/../src/Storage.php';

const MAX_BYTES = 16 * 1024 * 1024;

function h(string $s): string
{
    return \htmlspecialchars($s, \ENT_QUOTES | \ENT_SUBSTITUTE, 'UTF-8');
}

function json(int $status, array $body): void
{
    \http_response_code($status);
    \header('Content-Type: application/json');
    echo \json_encode($body, \JSON_UNESCAPED_SLASHES), "\n";
}

function fail(int $status, string $message, bool $api): void
{
    if ($api) {
        json($status, ['error' => $message]);
        return;
    }
    \http_response_code($status);
    page('Error', '<p class="error">' . h($message) . '</p><p><a href="/">Back to the list</a></p>');
}

function page(string $title, string $body): void
{
    \header('Content-Type: text/html; charset=utf-8');
    echo '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>', h($title), ' · filedrop</title><style>',
        'body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330}',
        'h1{font-size:1.6rem;margin:0 0 .2rem}h1 a{color:inherit;text-decoration:none}',
        '.sub{color:#667;margin:0 0 1.5rem}',
        'form.box{border:1px solid #d5dae3;border-radius:8px;padding:1rem;margin:0 0 1rem;background:#f7f9fc}',
        'textarea{width:100%;height:6rem;font-family:ui-monospace,monospace;box-sizing:border-box}',
        'input[type=text]{width:14rem}button{padding:.3rem .9rem;cursor:pointer}',
        'table{border-collapse:collapse;width:100%;margin-top:1rem}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e3e7ee}',
        '.num{text-align:right;font-variant-numeric:tabular-nums}form.inline{display:inline;margin:0}',
        'pre{background:#f7f9fc;border:1px solid #d5dae3;border-radius:8px;padding:1rem;overflow:auto}',
        '.error{color:#b00020}.empty{color:#667;font-style:italic}',
        '</style></head><body><h1><a href="/">filedrop</a></h1>', $body, '</body></html>';
}

function size_text(int $bytes): string
{
    return match (true) {
        $bytes >= 1 << 20 => \sprintf('%.1f MiB', $bytes / (1 << 20)),
        $bytes >= 1 << 10 => \sprintf('%.1f KiB', $bytes / (1 << 10)),
        default => "$bytes B",
    };
}

/** A Content-Type for a name; text and images are shown in the browser, the rest downloaded. */
function content_type(string $name): string
{
    $ext = \strtolower(\pathinfo($name, \PATHINFO_EXTENSION));
    return match ($ext) {
        'txt', 'log', 'md', 'csv', 'php', 'py', 'rs', 'c', 'h', 'json', 'sh' => 'text/plain; charset=utf-8',
        'png' => 'image/png',
        'jpg', 'jpeg' => 'image/jpeg',
        'gif' => 'image/gif',
        default => 'application/octet-stream',
    };
}

function list_page(Storage $store): void
{
    $rows = '';
    foreach ($store->list() as $f) {
        $n = h($f['name']);
        $rows .= "<tr><td><a href=\"/view/$n\">$n</a></td><td class=\"num\">" . size_text($f['size']) . '</td>'
            . '<td>' . \gmdate('Y-m-d H:i', $f['mtime']) . ' UTC</td>'
            . "<td><a href=\"/files/$n\" download>download</a> "
            . "<form class=\"inline\" method=\"post\" action=\"/delete/$n\"><button type=\"submit\">delete</button></form></td></tr>";
    }
    $table = $rows === ''
        ? '<p class="empty" id="empty">No files yet.</p>'
        : "<table id=\"files\"><thead><tr><th>Name</th><th class=\"num\">Size</th><th>Changed</th><th></th></tr></thead><tbody>$rows</tbody></table>";
    page('Files', '<p class="sub">Drop a file or paste some text. Storage: <b>' . h($store->kind()) . '</b></p>'
        . '<form class="box" method="post" action="/upload" enctype="multipart/form-data">'
        . '<label>File <input type="file" name="file" id="file" required></label> '
        . '<label>Name <input type="text" name="name" placeholder="(the file\'s own)"></label> '
        . '<button type="submit" id="upload">Upload</button></form>'
        . '<form class="box" method="post" action="/upload">'
        . '<textarea name="text" placeholder="Paste text here" required></textarea><br>'
        . '<label>Name <input type="text" name="name" placeholder="paste-….txt"></label> '
        . '<button type="submit" id="paste">Save text</button></form>'
        . $table);
}

function view_page(Storage $store, string $name): void
{
    $data = $store->get($name);
    if ($data === null) {
        fail(404, "No file named $name.", false);
        return;
    }
    $type = content_type($name);
    $n = h($name);
    $body = "<p class=\"sub\">$n · " . size_text(\strlen($data)) . " · <a href=\"/files/$n\" download>download</a></p>";
    if (\str_starts_with($type, 'text/') && \preg_match('//u', $data)) {
        $body .= '<pre id="content">' . h($data) . '</pre>';
    } elseif (\str_starts_with($type, 'image/')) {
        $body .= "<p><img src=\"/files/$n?inline=1\" alt=\"$n\" style=\"max-width:100%\"></p>";
    } else {
        $body .= '<p class="empty">Binary file: download it to see it.</p>';
    }
    page($name, $body);
}

function send_file(Storage $store, string $name, bool $inline, bool $api): void
{
    $data = $store->get($name);
    if ($data === null) {
        fail(404, "No file named $name.", $api);
        return;
    }
    \header('Content-Type: ' . content_type($name));
    \header('Content-Length: ' . \strlen($data));
    \header('X-Content-Type-Options: nosniff');
    \header('Content-Disposition: ' . ($inline ? 'inline' : 'attachment') . "; filename=\"$name\"");
    echo $data;
}

/** POST /upload: a file from the form, or pasted text. */
function upload(Storage $store, bool $api): void
{
    $wanted = \trim((string)($_POST['name'] ?? ''));
    if (isset($_FILES['file'])) {
        $file = $_FILES['file'];
        if ($file['error'] !== \UPLOAD_ERR_OK) {
            $tooBig = \in_array($file['error'], [\UPLOAD_ERR_INI_SIZE, \UPLOAD_ERR_FORM_SIZE], true);
            fail($tooBig ? 413 : 400, $tooBig ? 'The file is too large.' : "Upload failed (error {$file['error']}).", $api);
            return;
        }
        $data = (string)\file_get_contents($file['tmp_name']);
        $name = $wanted !== '' ? $wanted : Names::fromUpload((string)$file['name']);
    } elseif (isset($_POST['text'])) {
        $data = (string)$_POST['text'];
        $name = $wanted !== '' ? $wanted : 'paste-' . \gmdate('Ymd-His') . '-' . \bin2hex(\random_bytes(2)) . '.txt';
    } else {
        fail(400, 'Nothing to upload.', $api);
        return;
    }
    store($store, $name, $data, $api);
}

function store(Storage $store, string $name, string $data, bool $api): void
{
    if (!Names::valid($name)) {
        fail(400, "Bad name '$name': letters, digits, '.', '_', '-', at most 100.", $api);
        return;
    }
    if (\strlen($data) > MAX_BYTES) {
        fail(413, 'The file is too large.', $api);
        return;
    }
    $store->put($name, $data);
    if ($api) {
        json(200, ['name' => $name, 'size' => \strlen($data), 'sha256' => \hash('sha256', $data)]);
    } else {
        \header('Location: /view/' . \rawurlencode($name), true, 303);
    }
}

function route(string $method, string $path): void
{
    $api = \str_starts_with($path, '/api/');
    $store = storage_from_environment();
    $name = null;
    if (\preg_match('#^/(?:api/files|files|view|delete)/([^/]+)$#D', $path, $m)) {
        $name = \rawurldecode($m[1]);
        if (!Names::valid($name)) {
            fail(400, 'Bad file name.', $api);
            return;
        }
    }
    switch (true) {
        case $path === '/' && $method === 'GET':
            list_page($store);
            return;
        case $path === '/upload' && $method === 'POST':
            upload($store, false);
            return;
        case \str_starts_with($path, '/view/') && $method === 'GET':
            view_page($store, $name);
            return;
        case \str_starts_with($path, '/files/') && $method === 'GET':
            send_file($store, $name, isset($_GET['inline']), false);
            return;
        case \str_starts_with($path, '/delete/') && $method === 'POST':
            $store->delete($name);
            \header('Location: /', true, 303);
            return;
        case $path === '/api/files' && $method === 'GET':
            json(200, ['backend' => $store->kind(), 'files' => $store->list()]);
            return;
        case $name !== null && $api && $method === 'PUT':
            store($store, $name, (string)\file_get_contents('php://input'), true);
            return;
        case $name !== null && $api && $method === 'GET':
            send_file($store, $name, false, true);
            return;
        case $name !== null && $api && $method === 'DELETE':
            $store->delete($name) ? json(200, ['deleted' => $name]) : fail(404, "No file named $name.", true);
            return;
    }
    fail(404, "Nothing at $method $path.", $api);
}

$path = \parse_url($_SERVER['REQUEST_URI'] ?? '/', \PHP_URL_PATH) ?: '/';
try {
    route($_SERVER['REQUEST_METHOD'] ?? 'GET', $path);
} catch (\Throwable $e) {
    \error_log('filedrop: ' . \get_class($e) . ': ' . $e->getMessage());
    if (!\headers_sent()) {
        $busy = $e instanceof \Whefs\BusyException || ($e instanceof \PDOException && \str_contains($e->getMessage(), 'locked'));
        fail($busy ? 503 : 500, $busy ? 'Busy, try again.' : 'Internal error.', \str_starts_with($path, '/api/'));
    }
}
