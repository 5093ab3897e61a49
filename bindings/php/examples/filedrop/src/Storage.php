<?php
/*
 * Where filedrop keeps its files: one interface, three backends, so the
 * same application runs on each and the load test compares like with like.
 *
 *  - WhefsStorage: everything in one whefs container file;
 *  - DirStorage: a plain directory, what a PHP application usually does
 *    (write a temporary file, fsync, rename over the old one);
 *  - SqliteStorage: one SQLite database (PDO, WAL, synchronous=FULL).
 *
 * Each put() is atomic and durable before it returns: a reader sees the
 * old file or the new one, never a part, and a crash after the response
 * keeps the new one.
 */

declare(strict_types=1);

namespace Filedrop;

interface Storage
{
    /** Creates or replaces the file $name with $data. */
    public function put(string $name, string $data): void;

    /** The file's content, or null if there is no such file. */
    public function get(string $name): ?string;

    /** Removes the file; false if there was none. */
    public function delete(string $name): bool;

    /**
     * Every file, in name order.
     *
     * @return list<array{name: string, size: int, mtime: int}>
     */
    public function list(): array;

    /** "whefs", "dir" or "sqlite". */
    public function kind(): string;
}

/** Names of stored files: what a URL segment and a file name can both be. */
final class Names
{
    public static function valid(string $name): bool
    {
        return (bool)\preg_match('/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/D', $name);
    }

    /** A valid name made from an uploaded file's name ("my photo.JPG" -> "my_photo.JPG"). */
    public static function fromUpload(string $original): string
    {
        $name = \preg_replace('/[^A-Za-z0-9._-]+/', '_', \basename($original)) ?? '';
        $name = \ltrim($name, '.-');
        $name = \substr($name, 0, 100);
        return $name === '' ? 'upload-' . \bin2hex(\random_bytes(4)) : $name;
    }
}

/** All files in one whefs container, under files/. */
final class WhefsStorage implements Storage
{
    private \Whefs\Fs $fs;

    public function __construct(string $container)
    {
        // Opened per request, as PDO opens SQLite: php-fpm workers are
        // separate processes, and whefs lets each write its own files at once.
        $this->fs = \Whefs\Fs::open($container, 'rw', ['busy_timeout' => 10]);
        if (!$this->fs->isDir('files')) {
            try {
                $this->fs->mkdir('files');
            } catch (\Whefs\ExistsException) {
                // another worker made it first
            }
        }
    }

    public function put(string $name, string $data): void
    {
        $this->fs->write("files/$name", $data); // one atomic, durable commit
    }

    public function get(string $name): ?string
    {
        try {
            return $this->fs->read("files/$name");
        } catch (\Whefs\NotFoundException) {
            return null;
        }
    }

    public function delete(string $name): bool
    {
        try {
            $this->fs->unlink("files/$name");
            return true;
        } catch (\Whefs\NotFoundException) {
            return false;
        }
    }

    public function list(): array
    {
        $files = [];
        foreach ($this->fs->entries('files') as $entry) {
            if ($entry['kind'] !== \WHEFS_KIND_FILE) {
                continue;
            }
            try {
                $mtime = $this->fs->stat("files/{$entry['name']}")->mtime();
            } catch (\Whefs\NotFoundException) {
                continue; // removed since the listing's commit
            }
            $files[] = ['name' => $entry['name'], 'size' => $entry['size'], 'mtime' => $mtime];
        }
        return $files;
    }

    public function kind(): string
    {
        return 'whefs';
    }
}

/** Files in a host directory: $root/files/NAME, written through $root/tmp/. */
final class DirStorage implements Storage
{
    public function __construct(private string $root)
    {
        foreach (["$root/files", "$root/tmp"] as $dir) {
            if (!\is_dir($dir) && !@\mkdir($dir, 0o777, true) && !\is_dir($dir)) {
                throw new \RuntimeException("cannot create $dir");
            }
        }
    }

    public function put(string $name, string $data): void
    {
        $tmp = "{$this->root}/tmp/" . \bin2hex(\random_bytes(8));
        $f = \fopen($tmp, 'x');
        if ($f === false) {
            throw new \RuntimeException("cannot create $tmp");
        }
        try {
            if (\fwrite($f, $data) !== \strlen($data) || !\fflush($f) || !\fsync($f)) {
                throw new \RuntimeException("cannot write $tmp");
            }
        } finally {
            \fclose($f);
        }
        if (!\rename($tmp, "{$this->root}/files/$name")) {
            @\unlink($tmp);
            throw new \RuntimeException("cannot rename $tmp");
        }
    }

    public function get(string $name): ?string
    {
        $data = @\file_get_contents("{$this->root}/files/$name");
        return $data === false ? null : $data;
    }

    public function delete(string $name): bool
    {
        return @\unlink("{$this->root}/files/$name");
    }

    public function list(): array
    {
        $files = [];
        foreach (\scandir("{$this->root}/files") ?: [] as $name) {
            $st = Names::valid($name) ? @\stat("{$this->root}/files/$name") : false;
            if ($st !== false) {
                $files[] = ['name' => $name, 'size' => $st['size'], 'mtime' => $st['mtime']];
            }
        }
        return $files;
    }

    public function kind(): string
    {
        return 'dir';
    }
}

/** Files as rows of one SQLite database. */
final class SqliteStorage implements Storage
{
    private \PDO $db;

    public function __construct(string $path)
    {
        $this->db = new \PDO("sqlite:$path", null, null, [
            \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
            \PDO::ATTR_TIMEOUT => 10, // busy timeout, seconds
        ]);
        $this->db->exec('PRAGMA journal_mode = WAL');
        $this->db->exec('PRAGMA synchronous = FULL');
        $this->db->exec('CREATE TABLE IF NOT EXISTS files (
            name TEXT PRIMARY KEY, data BLOB NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL)');
    }

    public function put(string $name, string $data): void
    {
        $q = $this->db->prepare('INSERT OR REPLACE INTO files (name, data, size, mtime) VALUES (?, ?, ?, ?)');
        $q->bindValue(1, $name);
        $q->bindValue(2, $data, \PDO::PARAM_LOB);
        $q->bindValue(3, \strlen($data), \PDO::PARAM_INT);
        $q->bindValue(4, \time(), \PDO::PARAM_INT);
        $q->execute();
    }

    public function get(string $name): ?string
    {
        $q = $this->db->prepare('SELECT data FROM files WHERE name = ?');
        $q->execute([$name]);
        $data = $q->fetchColumn();
        return $data === false ? null : (string)$data;
    }

    public function delete(string $name): bool
    {
        $q = $this->db->prepare('DELETE FROM files WHERE name = ?');
        $q->execute([$name]);
        return $q->rowCount() > 0;
    }

    public function list(): array
    {
        $rows = $this->db->query('SELECT name, size, mtime FROM files ORDER BY name')->fetchAll(\PDO::FETCH_ASSOC);
        return \array_map(static fn(array $r) => [
            'name' => (string)$r['name'], 'size' => (int)$r['size'], 'mtime' => (int)$r['mtime'],
        ], $rows);
    }

    public function kind(): string
    {
        return 'sqlite';
    }
}

/** The backend the server configured: FILEDROP_BACKEND and FILEDROP_STORE. */
function storage_from_environment(): Storage
{
    $backend = \getenv('FILEDROP_BACKEND') ?: ($_SERVER['FILEDROP_BACKEND'] ?? 'whefs');
    $store = \getenv('FILEDROP_STORE') ?: ($_SERVER['FILEDROP_STORE'] ?? '');
    if ($store === '') {
        throw new \RuntimeException('FILEDROP_STORE is not set: the container file, directory or database');
    }
    return match ($backend) {
        'whefs' => new WhefsStorage($store),
        'dir' => new DirStorage($store),
        'sqlite' => new SqliteStorage($store),
        default => throw new \RuntimeException("FILEDROP_BACKEND must be whefs, dir or sqlite, not '$backend'"),
    };
}
