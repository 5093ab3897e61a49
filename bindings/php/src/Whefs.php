<?php
/**
 * whefs for PHP: a whole filesystem — directories and files — in one
 * container file.
 *
 * Two ways in, both on the `whefs` extension (the SWIG wrapper of the C
 * library, bindings/swig/whefs.i):
 *
 *  - the object API: Fs::open() gives an Fs; its openFile() gives a File.
 *    Errors are Whefs\Exception subclasses whose code is the C library's
 *    WHEFS_ERR_* value.
 *  - the stream wrapper: StreamWrapper::register('data', '/srv/app.whefs')
 *    makes fopen(), file_get_contents(), scandir(), include, ... work on
 *    whefs://data/path/in/container. Following PHP's filesystem convention,
 *    its functions return false with an E_USER_WARNING instead of throwing.
 *
 * Lifetimes: a File keeps its Fs alive, and Fs::close() closes (committing)
 * every File still open from it before it closes the container, so the
 * container handle is never freed under a file handle — the C API forbids
 * that. Nothing here is shared between threads: PHP runs one request per
 * thread, and each process opens the container itself.
 */

declare(strict_types=1);

namespace Whefs;

if (!\extension_loaded('whefs')) {
    throw new \RuntimeException(
        'whefs: the whefs extension is not loaded (php -d extension=/path/to/whefs.so, or an extension= line in php.ini)'
    );
}

// ---- errors ------------------------------------------------------------------

/**
 * Base class of every error the library reports. getCode() is the C
 * library's WHEFS_ERR_* value; getName() its name ("WHEFS_ERR_BUSY").
 */
class Exception extends \RuntimeException
{
    /** WHEFS_ERR_* value => the class thrown for it. */
    private const CLASSES = [
        \WHEFS_ERR_ARG => ArgumentException::class,
        \WHEFS_ERR_IO => IOException::class,
        \WHEFS_ERR_NOMEM => OutOfMemoryException::class,
        \WHEFS_ERR_BAD_MAGIC => BadMagicException::class,
        \WHEFS_ERR_INTERNAL => InternalException::class,
        \WHEFS_ERR_RANGE => RangeException::class,
        \WHEFS_ERR_FULL => FullException::class,
        \WHEFS_ERR_ACCESS => AccessException::class,
        \WHEFS_ERR_CORRUPT => CorruptException::class,
        \WHEFS_ERR_UNSUPPORTED => UnsupportedException::class,
        \WHEFS_ERR_NOT_FOUND => NotFoundException::class,
        \WHEFS_ERR_EXISTS => ExistsException::class,
        \WHEFS_ERR_BUSY => BusyException::class,
        \WHEFS_ERR_NOT_DIR => NotDirectoryException::class,
        \WHEFS_ERR_IS_DIR => IsDirectoryException::class,
        \WHEFS_ERR_NOT_EMPTY => NotEmptyException::class,
        \WHEFS_ERR_CLOSED => ClosedException::class,
        \WHEFS_ERR_NAME_TOO_LONG => NameTooLongException::class,
    ];

    /** The exception for status `code` (an unknown code gives this base class). */
    public static function fromCode(int $code, string $message): self
    {
        $class = self::CLASSES[$code] ?? self::class;
        return new $class($message, $code);
    }

    /** The code's name, such as "WHEFS_ERR_NOT_FOUND". */
    public function getName(): string
    {
        return \whefs_rc_name($this->getCode());
    }
}

/** Bad argument: bad mode string, bad option, bad path (WHEFS_ERR_ARG). */
class ArgumentException extends Exception {}
/** The operating system reported an I/O error (WHEFS_ERR_IO). */
class IOException extends Exception {}
/** Out of memory (WHEFS_ERR_NOMEM). */
class OutOfMemoryException extends Exception {}
/** Not a whefs container, or an unsupported format version (WHEFS_ERR_BAD_MAGIC). */
class BadMagicException extends Exception {}
/** A bug in whefs, a caught panic included (WHEFS_ERR_INTERNAL). */
class InternalException extends Exception {}
/** Value out of range: seek before 0, size too large (WHEFS_ERR_RANGE). */
class RangeException extends Exception {}
/** No space: disk full or a size limit (WHEFS_ERR_FULL). */
class FullException extends Exception {}
/** Not permitted, such as a write to a read-only container (WHEFS_ERR_ACCESS). */
class AccessException extends Exception {}
/** A checksum or consistency failure in the container (WHEFS_ERR_CORRUPT). */
class CorruptException extends Exception {}
/** Not supported here (WHEFS_ERR_UNSUPPORTED). */
class UnsupportedException extends Exception {}
/** No such file or directory (WHEFS_ERR_NOT_FOUND). */
class NotFoundException extends Exception {}
/** Already exists (WHEFS_ERR_EXISTS). */
class ExistsException extends Exception {}
/** A lock (another writer of the file, ...) was not had within the busy timeout (WHEFS_ERR_BUSY). */
class BusyException extends Exception {}
/** A path component is not a directory (WHEFS_ERR_NOT_DIR). */
class NotDirectoryException extends Exception {}
/** Is a directory (WHEFS_ERR_IS_DIR). */
class IsDirectoryException extends Exception {}
/** Directory not empty (WHEFS_ERR_NOT_EMPTY). */
class NotEmptyException extends Exception {}
/** The Fs or File was closed (WHEFS_ERR_CLOSED). */
class ClosedException extends Exception {}
/** A path component is longer than 255 bytes (WHEFS_ERR_NAME_TOO_LONG). */
class NameTooLongException extends Exception {}

/**
 * @internal The one door to the extension's functions: a failed call throws
 * a plain \Exception carrying the WHEFS_ERR_* code (bindings/swig/whefs.i);
 * here it becomes the Whefs\Exception subclass for that code.
 */
final class Native
{
    public static function call(string $function, mixed ...$args): mixed
    {
        try {
            return $function(...$args);
        } catch (\Exception $e) {
            if (\get_class($e) === \Exception::class && $e->getCode() > 0) {
                throw Exception::fromCode($e->getCode(), $e->getMessage());
            }
            throw $e;
        }
    }

    /** Seconds (int or float) as whole milliseconds for the C API. */
    public static function milliseconds(int|float $seconds): int
    {
        if ($seconds < 0) {
            throw new ArgumentException("busy_timeout must be >= 0, not $seconds", \WHEFS_ERR_ARG);
        }
        return (int)\min(\round($seconds * 1000), 0xFFFFFFFF);
    }

    /**
     * A PHP fopen() mode as the C library takes it: "b" and "t" (text mode,
     * which does nothing on POSIX) and "e" (close-on-exec: the library's
     * descriptors are its own) dropped.
     */
    public static function mode(string $mode): string
    {
        return \str_replace(['b', 't', 'e'], '', $mode);
    }
}

// ---- values --------------------------------------------------------------------

/** What Fs::stat() and File::stat() report. */
final class Stat
{
    private const S_IFREG = 0o100000;
    private const S_IFDIR = 0o040000;
    private const S_IFLNK = 0o120000;

    public function __construct(
        /** File type and permission bits, as PHP's stat()['mode']. */
        public readonly int $mode,
        /** Inode number, stable for the file's life. */
        public readonly int $ino,
        /** Size in bytes (0 for directories). */
        public readonly int $size,
        /** Last modification, nanoseconds since the Unix epoch. */
        public readonly int $mtimeNs,
        /** Last status change, nanoseconds since the Unix epoch. */
        public readonly int $ctimeNs,
        /** Link count (names of a file; 2 + subdirectories of a directory). */
        public readonly int $nlink = 1,
        /** Owner's user id, as recorded (the library does not enforce it). */
        public readonly int $uid = 0,
        /** Owner's group id. */
        public readonly int $gid = 0,
        /** Last access as recorded (creation, touch()); reads never change it. */
        public readonly ?int $atimeNs = null,
    ) {
    }

    /** @internal From the extension's stat or statx array. */
    public static function fromNative(array $st): self
    {
        $type = match ($st['kind']) {
            \WHEFS_KIND_DIR => self::S_IFDIR,
            \WHEFS_KIND_SYMLINK => self::S_IFLNK,
            default => self::S_IFREG,
        };
        return new self(
            $type | ($st['mode'] & 0o7777),
            $st['ino'],
            $st['size'],
            $st['mtime_ns'],
            $st['ctime_ns'],
            $st['nlink'] ?? 1,
            $st['uid'] ?? 0,
            $st['gid'] ?? 0,
            $st['atime_ns'] ?? null,
        );
    }

    public function isLink(): bool
    {
        return ($this->mode & 0o170000) === self::S_IFLNK;
    }

    public function isFile(): bool
    {
        return ($this->mode & 0o170000) === self::S_IFREG;
    }

    public function isDir(): bool
    {
        return ($this->mode & 0o170000) === self::S_IFDIR;
    }

    /** Last modification, whole seconds (as filemtime()). */
    public function mtime(): int
    {
        return \intdiv($this->mtimeNs, 1_000_000_000);
    }

    /** Last status change, whole seconds (as filectime()). */
    public function ctime(): int
    {
        return \intdiv($this->ctimeNs, 1_000_000_000);
    }

    /**
     * Shaped like PHP's stat(): the 13 numeric and the named keys. $uid and
     * $gid are the owner to report.
     */
    public function toArray(int $uid = 0, int $gid = 0): array
    {
        $values = [
            'dev' => 0,
            'ino' => $this->ino,
            'mode' => $this->mode,
            'nlink' => $this->nlink,
            'uid' => $uid,
            'gid' => $gid,
            'rdev' => 0,
            'size' => $this->size,
            'atime' => \intdiv($this->atimeNs ?? $this->mtimeNs, 1_000_000_000),
            'mtime' => $this->mtime(),
            'ctime' => $this->ctime(),
            'blksize' => -1,
            'blocks' => -1,
        ];
        return \array_merge(\array_values($values), $values);
    }
}

/** Container-wide figures as of the latest commit (Fs::info()). */
final class Info
{
    public function __construct(
        /** Bytes per page. */
        public readonly int $pageSize,
        /** Number of the latest commit. */
        public readonly int $generation,
        /** Pages in the container file. */
        public readonly int $pagesTotal,
        /** Pages holding live data or metadata. */
        public readonly int $pagesUsed,
        /** Pages free for reuse now. */
        public readonly int $pagesFree,
        /** Pages freed recently, reusable once no reader needs them. */
        public readonly int $pagesPending,
        /** Number of pseudofiles. */
        public readonly int $files,
        /** Number of directories, the root included. */
        public readonly int $dirs,
        /** Number of named snapshots. */
        public readonly int $snapshots = 0,
        /** Pages only snapshots reference (not counted in $pagesUsed). */
        public readonly int $pagesSnapshot = 0,
        /** Pages compact() could give back at most: the free and pending ones. */
        public readonly int $pagesReclaimable = 0,
    ) {
    }
}

/** A named snapshot (Fs::snapshots(), Fs::createSnapshot()). */
final class Snapshot
{
    public function __construct(
        /** Its name. */
        public readonly string $name,
        /** The commit whose state it keeps. */
        public readonly int $generation,
        /** When it was taken, nanoseconds since the Unix epoch. */
        public readonly int $createdNs,
        /** Files and symbolic links in it. */
        public readonly int $files,
        /** Directories in it, the root included. */
        public readonly int $dirs,
        /** Pages only it references: what deleting it gives back. */
        public readonly int $exclusivePages,
    ) {
    }

    /** @internal From the extension's snapshot array. */
    public static function fromNative(array $s): self
    {
        return new self($s['name'], $s['generation'], $s['created_ns'], $s['files'], $s['dirs'], $s['exclusive_pages']);
    }

    /** When it was taken, whole seconds (as time()). */
    public function created(): int
    {
        return \intdiv($this->createdNs, 1_000_000_000);
    }
}

/** What Fs::backup() wrote. */
final class BackupReport
{
    public function __construct(
        /** The generation copied (of the latest commit, or of a view's snapshot). */
        public readonly int $generation,
        /** Pages in the copy, page 0 included. */
        public readonly int $pages,
        /** Bytes in the copy: the size of the new file. */
        public readonly int $bytes,
        /** Files and symbolic links copied. */
        public readonly int $files,
        /** Directories copied, the root included. */
        public readonly int $dirs,
    ) {
    }
}

/** What Fs::compact() did. */
final class CompactReport
{
    public function __construct(
        /** Pages in the container before. */
        public readonly int $pagesBefore,
        /** Pages after: the file is now this many pages long. */
        public readonly int $pagesAfter,
        /** Data pages moved from the tail into free space. */
        public readonly int $dataPagesMoved,
        /** Commits made. */
        public readonly int $commits,
    ) {
    }
}

// ---- the object API ------------------------------------------------------------

/**
 * An open container. Make one with Fs::open() (or Fs::openImage()); close
 * it with close(), or let it go: the destructor closes it.
 */
final class Fs
{
    private const DURABILITY = [
        'full' => \WHEFS_DURABLE_FULL,
        'normal' => \WHEFS_DURABLE_NORMAL,
        'off' => \WHEFS_DURABLE_OFF,
    ];
    private const OPTIONS = ['create', 'busy_timeout', 'durability', 'container_lock', 'page_size', 'label', 'snapshot'];
    private const CHANGES = [
        \WHEFS_CHANGE_ADDED => 'added',
        \WHEFS_CHANGE_REMOVED => 'removed',
        \WHEFS_CHANGE_CHANGED => 'changed',
    ];

    /** The extension's handle; null once closed. */
    private ?object $ptr;
    /** @var \WeakMap<File, true> files open from this container */
    private \WeakMap $files;
    /** @var \WeakMap<Transaction, true> transactions open on this container */
    private \WeakMap $txns;

    private function __construct(
        object $ptr,
        /** The container's host path (":memory:", or "" for an image). */
        public readonly string $path,
        /** Opened with mode "r" (or an image, or a snapshot view). */
        public readonly bool $readonly,
        /** An image container (and its views) borrow these bytes: kept until close. */
        private ?string $image = null,
        /** The snapshot a view reads; null for the latest state. */
        public readonly ?string $snapshot = null,
    ) {
        $this->ptr = $ptr;
        $this->files = new \WeakMap();
        $this->txns = new \WeakMap();
    }

    /**
     * Opens the container file at $path (":memory:": a new one in RAM).
     *
     * $mode: "rw" (read-write) or "r" (read-only). $options:
     *  - create (bool): make the container if it is missing; default true
     *    for "rw" (with false a missing container is NotFoundException);
     *  - busy_timeout (seconds, int or float, default 5): how long a call
     *    waits for a lock held by another handle or process (also while
     *    opening) before BusyException;
     *  - durability: "full" (default: every commit survives power loss),
     *    "normal" (a crash may lose the latest commits) or "off" (no syncs);
     *  - container_lock (bool): the 2009 library's mode, a read-write open
     *    excludes every other open of the container;
     *  - page_size (4096..65536, a power of two) and label (string): used
     *    only when this call creates the container;
     *  - snapshot (string): open that named snapshot instead of the latest
     *    state, read-only, as openSnapshot() does. $mode then defaults to
     *    "r"; "rw" is AccessException.
     *
     * $mode defaults to "rw" (to "r" with a snapshot).
     */
    public static function open(string $path, ?string $mode = null, array $options = []): self
    {
        $unknown = \array_diff(\array_keys($options), self::OPTIONS);
        if ($unknown) {
            throw new ArgumentException('unknown option(s): ' . \implode(', ', $unknown), \WHEFS_ERR_ARG);
        }
        $snapshot = $options['snapshot'] ?? null;
        if ($snapshot !== null && !\is_string($snapshot)) {
            throw new ArgumentException('the snapshot option must be a string', \WHEFS_ERR_ARG);
        }
        $mode ??= $snapshot === null ? 'rw' : 'r';
        if ($snapshot !== null && $mode === 'rw') {
            throw new AccessException("a snapshot is read-only; open it with mode 'r'", \WHEFS_ERR_ACCESS);
        }
        if ($mode !== 'rw' && $mode !== 'r') {
            throw new ArgumentException("mode must be 'rw' or 'r', not '$mode'", \WHEFS_ERR_ARG);
        }
        $create = (bool)($options['create'] ?? $mode === 'rw');
        if ($create && $mode === 'r') {
            throw new ArgumentException("create needs mode 'rw'", \WHEFS_ERR_ARG);
        }
        $durability = $options['durability'] ?? 'full';
        if (!isset(self::DURABILITY[$durability])) {
            throw new ArgumentException("durability must be 'full', 'normal' or 'off', not '$durability'", \WHEFS_ERR_ARG);
        }
        $flags = $mode === 'rw' ? \WHEFS_OPEN_READWRITE : \WHEFS_OPEN_READONLY;
        if ($create) {
            $flags |= \WHEFS_OPEN_CREATE;
        }
        if ($options['container_lock'] ?? false) {
            $flags |= \WHEFS_OPEN_CONTAINER_LOCK;
        }
        $ptr = Native::call(
            'whefs_fs_open_ex',
            $path,
            $flags,
            Native::milliseconds($options['busy_timeout'] ?? \WHEFS_DEFAULT_BUSY_TIMEOUT_MS / 1000),
            (int)($options['page_size'] ?? 0),
            isset($options['label']) ? (string)$options['label'] : null,
        );
        $fs = new self($ptr, $path, $mode === 'r');
        if ($snapshot !== null) {
            try {
                return $fs->openSnapshot($snapshot); // the view holds what it needs of $fs
            } finally {
                $fs->close();
            }
        }
        if ($durability !== 'full') {
            try {
                $fs->setDurability($durability);
            } catch (\Throwable $e) {
                $fs->close();
                throw $e;
            }
        }
        return $fs;
    }

    /** Opens a container image held in a string, read-only. */
    public static function openImage(string $data): self
    {
        // The library borrows the bytes: the Fs keeps this very string.
        $ptr = Native::call('whefs_fs_open_image', $data);
        return new self($ptr, '', true, $data);
    }

    /** @internal The handle for a call; ClosedException once closed. */
    public function handle(): object
    {
        return $this->ptr ?? throw new ClosedException('whefs container is closed', \WHEFS_ERR_CLOSED);
    }

    /** @internal */
    public function adopt(File|Transaction $child): void
    {
        if ($child instanceof File) {
            $this->files[$child] = true;
        } else {
            $this->txns[$child] = true;
        }
    }

    /** @internal */
    public function forget(File|Transaction $child): void
    {
        if ($child instanceof File) {
            unset($this->files[$child]);
        } else {
            unset($this->txns[$child]);
        }
    }

    public function isClosed(): bool
    {
        return $this->ptr === null;
    }

    /**
     * Aborts every Transaction still open on this container, closes every
     * File still open from it (committing its writes), then closes the
     * container. Closing twice is fine. The first error of the files'
     * commits is thrown after everything is closed.
     */
    public function close(): void
    {
        $ptr = $this->ptr;
        if ($ptr === null) {
            return;
        }
        $first = null;
        $txns = [];
        foreach ($this->txns as $txn => $_) {
            $txns[] = $txn; // abort() forgets itself: not while iterating
        }
        foreach ($txns as $txn) {
            try {
                $txn->abort();
            } catch (\Throwable $e) {
                $first ??= $e;
            }
        }
        $this->txns = new \WeakMap();
        $files = [];
        foreach ($this->files as $file => $_) {
            $files[] = $file; // File::close() forgets itself: not while iterating
        }
        foreach ($files as $file) {
            try {
                $file->close();
            } catch (\Throwable $e) {
                $first ??= $e;
            }
        }
        $this->files = new \WeakMap();
        $this->ptr = null;
        try {
            Native::call('whefs_fs_close', $ptr);
        } finally {
            $this->image = null;
        }
        if ($first !== null) {
            throw $first;
        }
    }

    public function __destruct()
    {
        try {
            $this->close();
        } catch (ClosedException) {
            // a handle inherited across fork(): nothing to commit here
        } catch (\Throwable $e) {
            \trigger_error("whefs: closing container {$this->path}: {$e->getMessage()}", \E_USER_WARNING);
        }
    }

    // -- settings ----------------------------------------------------------

    /** How long later calls wait for a lock before BusyException, in seconds. */
    public function setBusyTimeout(int|float $seconds): void
    {
        Native::call('whefs_fs_set_busy_timeout', $this->handle(), Native::milliseconds($seconds));
    }

    /** "full", "normal" or "off" (see open()). */
    public function setDurability(string $durability): void
    {
        if (!isset(self::DURABILITY[$durability])) {
            throw new ArgumentException("durability must be 'full', 'normal' or 'off', not '$durability'", \WHEFS_ERR_ARG);
        }
        Native::call('whefs_fs_set_durability', $this->handle(), self::DURABILITY[$durability]);
    }

    /** The container's label ("" if none): given at creation, changed by setLabel(). */
    public function label(): string
    {
        return Native::call('whefs_fs_label_get', $this->handle());
    }

    /**
     * Sets the container's label in one commit: at most 64 bytes of UTF-8
     * (ArgumentException if longer, or not UTF-8); "" removes it.
     * AccessException on a read-only container.
     */
    public function setLabel(string $label): void
    {
        Native::call('whefs_fs_label_set', $this->handle(), $label);
    }

    // -- files -------------------------------------------------------------

    /**
     * Opens a pseudofile. $mode as fopen(): "r", "r+", "w", "w+", "a", "a+",
     * "c", "c+" (create, no truncate), "x", "x+" (exclusive create); "b" and
     * "t" are ignored. Reads see the file as committed when it was opened
     * (a snapshot) plus this handle's writes; flush() and close() commit.
     * A second writer of a file waits up to the busy timeout, then gets
     * BusyException.
     */
    public function openFile(string $path, string $mode = 'r'): File
    {
        $mode = Native::mode($mode);
        $ptr = Native::call('whefs_file_open', $this->handle(), $path, $mode);
        try {
            if ($mode[0] === 'a') {
                Native::call('whefs_file_seek', $ptr, 0, \SEEK_END); // as fopen("a"): ftell() is the size
            }
        } catch (\Throwable $e) {
            \whefs_file_close($ptr);
            throw $e;
        }
        $file = new File($this, $ptr, $path, $mode);
        $this->adopt($file);
        return $file;
    }

    /** The whole file, as of the latest commit. */
    public function read(string $path): string
    {
        return Native::call('whefs_read_file', $this->handle(), $path);
    }

    /** Creates or replaces the file with $data in one atomic commit; returns the byte count. */
    public function write(string $path, string $data): int
    {
        Native::call('whefs_write_file', $this->handle(), $path, $data);
        return \strlen($data);
    }

    // -- namespace ---------------------------------------------------------

    /** stat of a file or directory in the latest commit (symbolic links followed). */
    public function stat(string $path): Stat
    {
        return Stat::fromNative(Native::call('whefs_statx', $this->handle(), $path, 0));
    }

    /** lstat: a symbolic link at the end of $path is described itself. */
    public function lstat(string $path): Stat
    {
        return Stat::fromNative(Native::call('whefs_statx', $this->handle(), $path, \WHEFS_STAT_NOFOLLOW));
    }

    // -- POSIX metadata (each change is one commit) -------------------------

    /** chmod: the permission bits (0o7777), kept for the user, not enforced. */
    public function chmod(string $path, int $mode): void
    {
        Native::call('whefs_chmod', $this->handle(), $path, $mode & 0o7777);
    }

    /** chown: null leaves an id as it is. */
    public function chown(string $path, ?int $uid, ?int $gid = null): void
    {
        $keep = 0xFFFFFFFF; // WHEFS_ID_KEEP
        Native::call('whefs_chown', $this->handle(), $path, $uid ?? $keep, $gid ?? $keep);
    }

    /**
     * Sets modification and access times in nanoseconds since the epoch
     * (as PHP's touch(), but with nanoseconds); null means now.
     */
    public function touch(string $path, ?int $mtimeNs = null, ?int $atimeNs = null): void
    {
        $now = 0x7FFFFFFFFFFFFFFE; // WHEFS_TIME_NOW
        Native::call('whefs_utimens', $this->handle(), $path, $atimeNs ?? $mtimeNs ?? $now, $mtimeNs ?? $now);
    }

    /** symlink($target, $link): $target is kept as given, resolved when followed. */
    public function symlink(string $target, string $link): void
    {
        Native::call('whefs_symlink', $this->handle(), $target, $link);
    }

    /** The target of the symbolic link at $path (ArgumentException if it is not one). */
    public function readlink(string $path): string
    {
        return Native::call('whefs_readlink', $this->handle(), $path);
    }

    /** link: a second name for a file; both share content and link count. */
    public function link(string $existing, string $new): void
    {
        Native::call('whefs_link', $this->handle(), $existing, $new);
    }

    public function exists(string $path): bool
    {
        return Native::call('whefs_exists', $this->handle(), $path);
    }

    public function isFile(string $path): bool
    {
        try {
            return $this->stat($path)->isFile();
        } catch (NotFoundException | NotDirectoryException) {
            return false;
        }
    }

    public function isDir(string $path): bool
    {
        try {
            return $this->stat($path)->isDir();
        } catch (NotFoundException | NotDirectoryException) {
            return false;
        }
    }

    /**
     * Creates a directory. Without $recursive its parent must exist
     * (NotFoundException) and it must not (ExistsException); with it, the
     * missing parents are made too and an existing directory is fine
     * (mkdir -p).
     */
    public function mkdir(string $path, bool $recursive = false): void
    {
        Native::call($recursive ? 'whefs_mkdir_all' : 'whefs_mkdir', $this->handle(), $path);
    }

    /** Removes a file (IsDirectoryException for a directory). Open handles keep their snapshot. */
    public function unlink(string $path): void
    {
        Native::call('whefs_unlink', $this->handle(), $path);
    }

    /** Removes an empty directory (NotEmptyException otherwise). */
    public function rmdir(string $path): void
    {
        Native::call('whefs_rmdir', $this->handle(), $path);
    }

    /** Renames atomically; replaces a file (not a directory) at $to. */
    public function rename(string $from, string $to): void
    {
        Native::call('whefs_rename', $this->handle(), $from, $to);
    }

    /**
     * Copies the file $from to $to (replacing a file there) in one commit;
     * readers of $to see the old file or the whole copy. Returns the number
     * of bytes copied.
     */
    public function copy(string $from, string $to): int
    {
        return Native::call('whefs_copy', $this->handle(), $from, $to);
    }

    /**
     * Removes the directory $path and everything below it (rm -r) in one
     * commit: others see the whole tree or none of it.
     * NotDirectoryException for a file (use unlink()).
     */
    public function removeAll(string $path): void
    {
        Native::call('whefs_remove_all', $this->handle(), $path);
    }

    // -- transactions --------------------------------------------------------

    /**
     * Starts a Transaction: the operations recorded on it become visible
     * together, at its commit(), or never (abort()). AccessException on a
     * read-only container.
     */
    public function begin(): Transaction
    {
        $txn = new Transaction($this, Native::call('whefs_txn_begin', $this->handle()));
        $this->adopt($txn);
        return $txn;
    }

    /**
     * Runs $fn with a new Transaction and commits it if $fn returns (unless
     * $fn ended it itself); if $fn throws, aborts it and rethrows. Returns
     * what $fn returned. A commit that fails throws its exception, and
     * nothing of the transaction is committed.
     *
     *     $fs->transaction(function (Whefs\Transaction $t) {
     *         $t->write('a', '1');
     *         $t->rename('b', 'c');
     *     });
     */
    public function transaction(callable $fn): mixed
    {
        $txn = $this->begin();
        try {
            $result = $fn($txn);
        } catch (\Throwable $e) {
            if ($txn->isActive()) {
                $txn->abort();
            }
            throw $e;
        }
        if ($txn->isActive()) {
            $txn->commit();
        }
        return $result;
    }

    /**
     * Names in a directory, in name order (no "." and ".."), as of the
     * latest commit.
     *
     * @return list<string>
     */
    public function listdir(string $path = '/'): array
    {
        return \array_column($this->entries($path), 'name');
    }

    /**
     * Entries of a directory in name order: arrays with name, kind
     * (WHEFS_KIND_FILE or WHEFS_KIND_DIR), ino and size.
     *
     * @return list<array{name: string, kind: int, ino: int, size: int}>
     */
    public function entries(string $path = '/'): array
    {
        $dir = Native::call('whefs_dir_open', $this->handle(), $path);
        try {
            $entries = [];
            while (($entry = Native::call('whefs_dir_next', $dir)) !== null) {
                $entries[] = $entry;
            }
            return $entries;
        } finally {
            \whefs_dir_close($dir);
        }
    }

    /**
     * Paths matching a glob pattern, depth first and in name order within a
     * directory, without a leading "/": "*", "?", "[a-z]", "[!a-z]", and
     * "**" for any number of directories ("logs/**\/*.txt").
     *
     * @return list<string>
     */
    public function glob(string $pattern): array
    {
        return \array_column(Native::call('whefs_ls', $this->handle(), $pattern), 'path');
    }

    // -- the whole container -------------------------------------------------

    /** Checks every page checksum, the tree and the allocator (fsck); CorruptException with the finding. */
    public function check(): void
    {
        Native::call('whefs_fs_check', $this->handle());
    }

    /**
     * Container-wide figures as of the latest commit (of a snapshot view:
     * the snapshot's generation and counts, the container's pages).
     */
    public function info(): Info
    {
        $i = Native::call('whefs_fs_info_v2', $this->handle());
        return new Info(
            $i['page_size'],
            $i['generation'],
            $i['pages_total'],
            $i['pages_used'],
            $i['pages_free'],
            $i['pages_pending'],
            $i['files'],
            $i['dirs'],
            $i['snapshots'],
            $i['pages_snapshot'],
            $i['pages_reclaimable'],
        );
    }

    /**
     * Copies the state this Fs reads (the latest commit, or a view's
     * snapshot) into a new container file at $dest, while other handles and
     * processes go on writing: they are never blocked, and what they commit
     * meanwhile is not in the copy. The copy holds only live pages (no
     * snapshots, no free space). $dest must not exist (ExistsException); it
     * appears only complete and synced.
     *
     * $progress, if given, is called as $progress(int $donePages, int
     * $totalPages) while the copy proceeds. If it throws, it is not called
     * again and its exception is thrown once the backup has ended (the
     * backup cannot be stopped half-way; it completes).
     */
    public function backup(string $dest, ?callable $progress = null): BackupReport
    {
        $r = Native::call('whefs_fs_backup', $this->handle(), $dest, $progress);
        return new BackupReport($r['generation'], $r['pages'], $r['bytes'], $r['files'], $r['dirs']);
    }

    /**
     * Shrinks the container file in place: moves live pages from its end
     * into free space, commits and truncates. Crash-safe at every step.
     * Pages snapshots hold are not moved. It needs the container to itself:
     * it waits up to the busy timeout for other opens to close, and this Fs
     * must have no File or Transaction open (close them first), nor any
     * snapshot view; otherwise BusyException, saying why.
     * AccessException on a read-only container or a view.
     */
    public function compact(): CompactReport
    {
        $r = Native::call('whefs_fs_compact', $this->handle());
        return new CompactReport($r['pages_before'], $r['pages_after'], $r['data_pages_moved'], $r['commits']);
    }

    // -- named snapshots ---------------------------------------------------------

    /**
     * Takes a snapshot named $name of the latest committed state, in one
     * commit: a read-only copy that costs no space until files change, kept
     * (its pages never reused) until deleteSnapshot(). The name follows the
     * rules of a file name. ExistsException if it is taken;
     * AccessException on a read-only container or a view.
     */
    public function createSnapshot(string $name): Snapshot
    {
        return Snapshot::fromNative(Native::call('whefs_snapshot_create', $this->handle(), $name));
    }

    /**
     * The named snapshots, in name order (of a view: its container's).
     *
     * @return list<Snapshot>
     */
    public function snapshots(): array
    {
        $list = Native::call('whefs_snapshot_list_open', $this->handle());
        try {
            $out = [];
            while (($s = Native::call('whefs_snapshot_list_next', $list)) !== null) {
                $out[] = Snapshot::fromNative($s);
            }
            return $out;
        } finally {
            \whefs_snapshot_list_close($list);
        }
    }

    /**
     * Deletes a snapshot in one commit; returns how many pages it gave back
     * (reused once no reader needs them: an open view of it keeps reading).
     * NotFoundException if there is none of that name.
     */
    public function deleteSnapshot(string $name): int
    {
        return Native::call('whefs_snapshot_delete', $this->handle(), $name);
    }

    /**
     * A read-only view of the snapshot $name: an Fs on which every reading
     * call sees the container as it was then, and every writing call throws
     * AccessException. Close it like any Fs; it may outlive this one.
     * NotFoundException if there is no such snapshot.
     */
    public function openSnapshot(string $name): self
    {
        $ptr = Native::call('whefs_fs_open_snapshot', $this->handle(), $name);
        return new self($ptr, $this->path, true, $this->image, $name);
    }

    /**
     * Brings $path (a file, link or subtree; "/", the default, for
     * everything) back to its content in $snapshot, in one commit: what is
     * there now is removed, the snapshot's entries are written again with
     * their metadata and hard links. A path the snapshot does not have is
     * removed.
     */
    public function restore(string $snapshot, string $path = '/'): void
    {
        Native::call('whefs_fs_restore', $this->handle(), $snapshot, $path);
    }

    /**
     * The paths that differ from this state (the older: typically a view
     * from openSnapshot()) to $newer's (another view, or the container
     * itself), sorted by path: arrays with kind ("added", "removed" or
     * "changed") and path (absolute). A directory added or removed comes
     * with everything below it.
     *
     * @return list<array{kind: string, path: string}>
     */
    public function diff(Fs $newer): array
    {
        $changes = Native::call('whefs_diff', $this->handle(), $newer->handle());
        return \array_map(
            fn(array $c) => ['kind' => self::CHANGES[$c['kind']], 'path' => $c['path']],
            $changes,
        );
    }
}

/**
 * An open pseudofile, from Fs::openFile(). Reads see the snapshot taken at
 * open plus this handle's own writes; flush() and close() commit the
 * writes, atomically. The destructor closes (and so commits) too.
 */
final class File
{
    private ?object $ptr;
    private bool $eof = false;

    /** @internal Use Fs::openFile(). */
    public function __construct(
        private Fs $fs,
        object $ptr,
        /** The path it was opened with. */
        public readonly string $path,
        /** The mode it was opened with ("b" and "t" dropped). */
        public readonly string $mode,
    ) {
        $this->ptr = $ptr;
    }

    private function handle(): object
    {
        return $this->ptr ?? throw new ClosedException("whefs file {$this->path} is closed", \WHEFS_ERR_CLOSED);
    }

    /**
     * Up to $length bytes at the position ("" at the end of the file); null
     * reads to the end.
     */
    public function read(?int $length = null): string
    {
        if ($length !== null && $length < 0) {
            throw new RangeException("length must be >= 0, not $length", \WHEFS_ERR_RANGE);
        }
        $want = $length ?? \max(0, $this->size() - $this->tell());
        $data = Native::call('whefs_file_read_bytes', $this->handle(), $want);
        $this->eof = \strlen($data) < $want || ($length === null);
        return $data;
    }

    /** Up to $length bytes at $offset, without moving the position. */
    public function pread(int $length, int $offset): string
    {
        return Native::call('whefs_file_pread_bytes', $this->handle(), $length, $offset);
    }

    /** Writes $data at the position (at the end in "a" modes); returns the byte count. */
    public function write(string $data): int
    {
        return Native::call('whefs_file_write', $this->handle(), $data);
    }

    /** Writes $data at $offset without moving the position; returns the byte count. */
    public function pwrite(string $data, int $offset): int
    {
        return Native::call('whefs_file_pwrite', $this->handle(), $data, $offset);
    }

    /** Moves the position (SEEK_SET, SEEK_CUR, SEEK_END); past the end is fine. Returns it. */
    public function seek(int $offset, int $whence = \SEEK_SET): int
    {
        $pos = Native::call('whefs_file_seek', $this->handle(), $offset, $whence);
        $this->eof = false;
        return $pos;
    }

    public function tell(): int
    {
        return Native::call('whefs_file_tell', $this->handle());
    }

    /** True once a read met the end of the file (as feof()); a seek clears it. */
    public function eof(): bool
    {
        return $this->eof;
    }

    /** The size as this handle sees it (its snapshot plus its writes). */
    public function size(): int
    {
        return Native::call('whefs_file_size', $this->handle());
    }

    /** Truncates, or extends with zeros, to $size; the position stays. */
    public function truncate(int $size): void
    {
        Native::call('whefs_file_truncate', $this->handle(), $size);
    }

    public function stat(): Stat
    {
        return Stat::fromNative(Native::call('whefs_file_stat', $this->handle()));
    }

    /** Commits this handle's writes: visible to every other handle and process afterwards. */
    public function flush(): void
    {
        Native::call('whefs_file_flush', $this->handle());
    }

    /** Commits durably, whatever the container's durability setting. */
    public function sync(): void
    {
        Native::call('whefs_file_sync', $this->handle());
    }

    public function isClosed(): bool
    {
        return $this->ptr === null;
    }

    /**
     * Commits and closes; the handle is freed even if the commit fails (the
     * commit's error is thrown). Closing twice is fine.
     */
    public function close(): void
    {
        $ptr = $this->ptr;
        if ($ptr === null) {
            return;
        }
        $this->ptr = null;
        $this->fs->forget($this);
        Native::call('whefs_file_close', $ptr);
    }

    public function __destruct()
    {
        try {
            $this->close();
        } catch (ClosedException) {
            // a handle inherited across fork(): nothing to commit here
        } catch (\Throwable $e) {
            \trigger_error("whefs: closing {$this->path}: {$e->getMessage()}", \E_USER_WARNING);
        }
    }
}

/**
 * Operations on one container recorded now and made visible together, in
 * one commit, to every reader in any process — or never. From Fs::begin()
 * (or Fs::transaction()).
 *
 * Nothing recorded is visible before commit(), not even through the Fs. A
 * recording call checks only its arguments (a bad one throws at once,
 * records nothing, and the transaction stays usable); commit() checks each
 * operation in the order recorded, each seeing the ones before, and if one
 * cannot be done throws its exception (NotFoundException for a rename of a
 * missing file) and commits nothing. After commit() or abort(), whatever
 * the outcome, every call throws ClosedException. A transaction dropped
 * while open is aborted, and Fs::close() aborts those still open. Keep
 * transactions short: an open one holds the pages it wrote.
 */
final class Transaction
{
    private ?object $ptr;

    /** @internal Use Fs::begin(). */
    public function __construct(private Fs $fs, object $ptr)
    {
        $this->ptr = $ptr;
    }

    private function handle(): object
    {
        return $this->ptr
            ?? throw new ClosedException('whefs transaction already committed or aborted', \WHEFS_ERR_CLOSED);
    }

    /** Records creating or replacing the file $path with $data (taken now); returns the byte count. */
    public function write(string $path, string $data): int
    {
        Native::call('whefs_txn_write', $this->handle(), $path, $data);
        return \strlen($data);
    }

    /**
     * Records creating a directory: without $recursive its parent must
     * exist at the commit (or be made earlier in the transaction) and it
     * must not; with it, mkdir -p.
     */
    public function mkdir(string $path, bool $recursive = false): void
    {
        Native::call($recursive ? 'whefs_txn_mkdir_all' : 'whefs_txn_mkdir', $this->handle(), $path);
    }

    /** Records removing a file. */
    public function unlink(string $path): void
    {
        Native::call('whefs_txn_unlink', $this->handle(), $path);
    }

    /** Records removing an empty directory. */
    public function rmdir(string $path): void
    {
        Native::call('whefs_txn_rmdir', $this->handle(), $path);
    }

    /** Records removing a directory and everything below it. */
    public function removeAll(string $path): void
    {
        Native::call('whefs_txn_remove_all', $this->handle(), $path);
    }

    /** Records a rename; it may rename what the transaction wrote. */
    public function rename(string $from, string $to): void
    {
        Native::call('whefs_txn_rename', $this->handle(), $from, $to);
    }

    /** Records setting the label (at most 64 bytes of UTF-8; "" removes it). */
    public function setLabel(string $label): void
    {
        Native::call('whefs_txn_label_set', $this->handle(), $label);
    }

    /** Not yet committed or aborted. */
    public function isActive(): bool
    {
        return $this->ptr !== null;
    }

    /**
     * Publishes every recorded operation in one commit; if one cannot be
     * done, throws its exception and commits nothing. The transaction is
     * over either way.
     */
    public function commit(): void
    {
        $this->end('whefs_txn_commit');
    }

    /** Discards every recorded operation. */
    public function abort(): void
    {
        $this->end('whefs_txn_abort');
    }

    private function end(string $function): void
    {
        $ptr = $this->handle();
        $this->ptr = null;
        $this->fs->forget($this);
        Native::call($function, $ptr); // frees the handle whatever it returns
    }

    public function __destruct()
    {
        if ($this->ptr !== null) {
            try {
                $this->abort();
            } catch (\Throwable) {
                // nothing to report: an abort discards
            }
        }
    }
}

// ---- the stream wrapper ----------------------------------------------------------

/**
 * The whefs:// stream wrapper: PHP's filesystem functions on containers.
 *
 *     StreamWrapper::register('data', '/srv/app.whefs');
 *     file_put_contents('whefs://data/hello.txt', 'hi');
 *
 * A URL is whefs://NAME/path/in/container, NAME a name given to
 * register(); whefs:///path is whefs://default/path. The path is not
 * percent-decoded (no query either), and is read as a plain path: see
 * resolve().
 *
 * One container is open per name per process, shared by every stream on
 * that name; a container given by path is opened at its first use (so a
 * process forked before that opens its own), and again in a forked child.
 *
 * As PHP's filesystem functions do, the wrapper's methods return false and
 * raise an E_USER_WARNING ("whefs: fopen(whefs://data/x): not found: /x
 * (WHEFS_ERR_NOT_FOUND)") instead of throwing; url_stat() is silent when
 * PHP asks it to be (file_exists(), is_file(), ...).
 *
 * fflush() commits, and so does fclose(). flock() always succeeds: LOCK_SH
 * and LOCK_UN have nothing to do, and LOCK_EX is what whefs already gives
 * a writer — a stream open for writing is the file's only writer until it
 * is closed (a second one waits up to the busy timeout, then fails), and
 * readers see whole commits, never a half-written file.
 */
final class StreamWrapper
{
    public const SCHEME = 'whefs';

    /** @var array<string, array{fs: ?Fs, path: ?string, options: array, pid: int}> */
    private static array $containers = [];

    /** Set by PHP: the stream context, if any. */
    public $context;

    /** @var ?\WeakMap<Fs, array{int, int}> the uid and gid reported for each container */
    private static ?\WeakMap $owners = null;

    private ?File $file = null;
    private ?Fs $fs = null;
    private string $url = '';
    /** @var list<string> */
    private array $listing = [];
    private int $listingPos = 0;

    /**
     * Makes whefs://$name/... name the container $container: an open Fs
     * (its owner keeps it open as long as the name is used), or the host
     * path of a container file, opened with Fs::open($container, null,
     * $options) at its first use and closed by unregister() — read-write,
     * or read-only with a 'snapshot' option, which serves that snapshot.
     */
    public static function register(string $name, Fs|string $container, array $options = []): void
    {
        if (!\preg_match('/^[A-Za-z0-9][A-Za-z0-9._-]*$/D', $name)) {
            throw new ArgumentException("bad stream name '$name' (letters, digits, '.', '_', '-')", \WHEFS_ERR_ARG);
        }
        if (isset(self::$containers[$name])) {
            throw new ExistsException("whefs://$name is registered already", \WHEFS_ERR_EXISTS);
        }
        if ($container instanceof Fs && $options) {
            throw new ArgumentException('options apply to a container given by path', \WHEFS_ERR_ARG);
        }
        if (!\in_array(self::SCHEME, \stream_get_wrappers(), true)
            && !\stream_wrapper_register(self::SCHEME, self::class)) {
            throw new Exception('cannot register the whefs:// stream wrapper', \WHEFS_ERR_INTERNAL);
        }
        self::$containers[$name] = [
            'fs' => $container instanceof Fs ? $container : null,
            'path' => \is_string($container) ? $container : null,
            'options' => $options,
            'pid' => \getmypid(),
        ];
    }

    /**
     * Forgets a name; a container the wrapper opened is closed (committing
     * streams still open on it). The last name unregisters whefs:// itself.
     */
    public static function unregister(string $name): void
    {
        $entry = self::$containers[$name] ?? null;
        if ($entry === null) {
            throw new NotFoundException("whefs://$name is not registered", \WHEFS_ERR_NOT_FOUND);
        }
        unset(self::$containers[$name]);
        if (!self::$containers && \in_array(self::SCHEME, \stream_get_wrappers(), true)) {
            \stream_wrapper_unregister(self::SCHEME);
        }
        if ($entry['path'] !== null && $entry['fs'] !== null && $entry['pid'] === \getmypid()) {
            $entry['fs']->close();
        }
    }

    /** The container behind whefs://$name/, opened if need be. */
    public static function fs(string $name): Fs
    {
        $entry = self::$containers[$name]
            ?? throw new NotFoundException("whefs://$name is not registered", \WHEFS_ERR_NOT_FOUND);
        if ($entry['path'] !== null && ($entry['fs'] === null || $entry['pid'] !== \getmypid())) {
            // First use, or a forked child: the parent's handle is not ours.
            $entry['fs'] = Fs::open($entry['path'], null, $entry['options']);
            $entry['pid'] = \getmypid();
            self::$containers[$name] = $entry;
        }
        return $entry['fs'];
    }

    /** whefs://$name/$path. */
    public static function url(string $name, string $path = '/'): string
    {
        return self::SCHEME . '://' . $name . '/' . \ltrim($path, '/');
    }

    /**
     * [Fs, path in the container] for a whefs:// URL.
     *
     * The path is read as PHP reads a plain one: "." and empty components
     * are dropped and ".." goes up (at the root it stays there; a
     * container has no symbolic links, so this is what the kernel would
     * find). A path that ends in "/" (or "/.", "/..") names a directory:
     * for a file it is NotDirectoryException, and fopen() of it
     * IsDirectoryException, as open(2) says ENOTDIR and EISDIR.
     */
    private static function resolve(string $url, bool $forOpen = false): array
    {
        $prefix = self::SCHEME . '://';
        if (\strncasecmp($url, $prefix, \strlen($prefix)) !== 0) {
            throw new ArgumentException("not a whefs:// URL: $url", \WHEFS_ERR_ARG);
        }
        $rest = (string)\substr($url, \strlen($prefix));
        $slash = \strpos($rest, '/');
        $name = $slash === false ? $rest : \substr($rest, 0, $slash);
        $raw = $slash === false ? [] : \explode('/', \substr($rest, $slash + 1));
        $parts = [];
        foreach ($raw as $part) {
            if ($part === '..') {
                \array_pop($parts);
            } elseif ($part !== '' && $part !== '.') {
                $parts[] = $part;
            }
        }
        $fs = self::fs($name === '' ? 'default' : $name);
        $path = '/' . \implode('/', $parts);
        if ($parts && \in_array(\end($raw), ['', '.', '..'], true)) {
            if ($fs->isFile($path)) {
                throw new NotDirectoryException("not a directory: $path/", \WHEFS_ERR_NOT_DIR);
            }
            if ($forOpen) {
                throw new IsDirectoryException("is a directory: $path/", \WHEFS_ERR_IS_DIR);
            }
        }
        return [$fs, $path];
    }

    /**
     * A stat array for PHP, which judges is_readable() and is_writable() by
     * the mode bits and the owner: files are reported as owned by the
     * container file's owner, without write bits in a read-only container.
     */
    private static function statArray(Fs $fs, Stat $st): array
    {
        self::$owners ??= new \WeakMap();
        if (!isset(self::$owners[$fs])) {
            $host = $fs->path !== '' && $fs->path !== ':memory:' ? @\stat($fs->path) : false;
            self::$owners[$fs] = $host ? [$host['uid'], $host['gid']] : [\getmyuid(), \getmygid()];
        }
        [$uid, $gid] = self::$owners[$fs];
        $array = $st->toArray($uid, $gid);
        if ($fs->readonly) {
            $array['mode'] = $array[2] = $array['mode'] & ~0o222;
        }
        return $array;
    }

    /**
     * The PHP filesystem convention: a warning, and false. $level is
     * E_USER_NOTICE where plain files raise a notice (a failed read or
     * write: "read of 8192 bytes failed with errno=9").
     */
    private static function fail(string $what, string $url, \Throwable $e, bool $warn = true, int $level = \E_USER_WARNING): bool
    {
        if ($warn) {
            $name = $e instanceof Exception ? ' (' . $e->getName() . ')' : '';
            \trigger_error("whefs: $what($url): {$e->getMessage()}$name", $level);
        }
        return false;
    }

    // -- streams -----------------------------------------------------------

    public function stream_open(string $path, string $mode, int $options, ?string &$opened_path): bool
    {
        try {
            [$fs, $inner] = self::resolve($path, true);
            $this->file = $fs->openFile($inner, $mode);
            if (\str_contains($mode, 'a')) {
                // As plain files: "a+" reads from the start; writes still go to the end.
                $this->file->seek(0);
            }
            $this->fs = $fs;
            $this->url = $path;
            return true;
        } catch (\Throwable $e) {
            // PHP never passes STREAM_REPORT_ERRORS here (it reports "call
            // failed" itself, without the reason), so always say why.
            return self::fail('fopen', $path, $e);
        }
    }

    public function stream_read(int $count): string|false
    {
        try {
            return $this->file->read($count);
        } catch (\Throwable $e) {
            return self::fail('fread', $this->url, $e, true, \E_USER_NOTICE);
        }
    }

    public function stream_write(string $data): int|false
    {
        try {
            return $this->file->write($data);
        } catch (\Throwable $e) {
            return self::fail('fwrite', $this->url, $e, true, \E_USER_NOTICE);
        }
    }

    public function stream_eof(): bool
    {
        return $this->file === null || $this->file->eof();
    }

    public function stream_seek(int $offset, int $whence = \SEEK_SET): bool
    {
        try {
            $this->file->seek($offset, $whence);
            return true;
        } catch (RangeException | ArgumentException $e) {
            return false; // before 0, or a bad whence: -1 without a warning, as plain files
        } catch (\Throwable $e) {
            return self::fail('fseek', $this->url, $e);
        }
    }

    public function stream_tell(): int|false
    {
        try {
            return $this->file->tell();
        } catch (\Throwable $e) {
            return self::fail('ftell', $this->url, $e);
        }
    }

    /** fflush(): commits (fclose() does too). */
    public function stream_flush(): bool
    {
        if ($this->file === null || $this->file->isClosed()) {
            return false; // closed with its container (unregister()): committed then
        }
        try {
            $this->file->flush();
            \clearstatcache(); // filesize() & co. see the commit
            return true;
        } catch (\Throwable $e) {
            return self::fail('fflush', $this->url, $e);
        }
    }

    public function stream_truncate(int $new_size): bool
    {
        try {
            $this->file->truncate($new_size);
            return true;
        } catch (AccessException $e) {
            return false; // a stream not open for writing: false without a warning, as plain files
        } catch (\Throwable $e) {
            return self::fail('ftruncate', $this->url, $e);
        }
    }

    public function stream_stat(): array|false
    {
        try {
            return self::statArray($this->fs, $this->file->stat());
        } catch (\Throwable $e) {
            return self::fail('fstat', $this->url, $e);
        }
    }

    /** See the class comment: shared, exclusive and unlock all succeed. */
    public function stream_lock(int $operation): bool
    {
        return true;
    }

    public function stream_set_option(int $option, int $arg1, ?int $arg2): bool
    {
        return false;
    }

    public function stream_cast(int $cast_as): mixed
    {
        return false; // no descriptor to select() on
    }

    public function stream_close(): void
    {
        $file = $this->file;
        $this->file = null;
        try {
            $file?->close();
            \clearstatcache();
        } catch (ClosedException) {
            // a stream inherited across fork(): the parent's to close
        } catch (\Throwable $e) {
            self::fail('fclose', $this->url, $e);
        }
    }

    // -- paths -------------------------------------------------------------

    public function url_stat(string $path, int $flags): array|false
    {
        try {
            [$fs, $inner] = self::resolve($path);
            return self::statArray($fs, $fs->stat($inner));
        } catch (\Throwable $e) {
            return self::fail('stat', $path, $e, !($flags & \STREAM_URL_STAT_QUIET));
        }
    }

    public function unlink(string $path): bool
    {
        try {
            [$fs, $inner] = self::resolve($path);
            $fs->unlink($inner);
            \clearstatcache();
            return true;
        } catch (\Throwable $e) {
            return self::fail('unlink', $path, $e);
        }
    }

    public function rename(string $path_from, string $path_to): bool
    {
        try {
            [$fs, $from] = self::resolve($path_from);
            [$fsTo, $to] = self::resolve($path_to);
            if ($fs !== $fsTo) {
                throw new UnsupportedException("cannot rename across containers (to $path_to)", \WHEFS_ERR_UNSUPPORTED);
            }
            $fs->rename($from, $to);
            \clearstatcache();
            return true;
        } catch (\Throwable $e) {
            return self::fail('rename', $path_from, $e);
        }
    }

    /** mkdir(), with STREAM_MKDIR_RECURSIVE for mkdir($url, 0777, true); $mode is not kept. */
    public function mkdir(string $path, int $mode, int $options): bool
    {
        try {
            [$fs, $inner] = self::resolve($path);
            if ($options & \STREAM_MKDIR_RECURSIVE) {
                if ($fs->exists($inner)) { // as PHP's recursive mkdir: the last one must be new
                    throw new ExistsException("already exists: $inner", \WHEFS_ERR_EXISTS);
                }
                $fs->mkdir($inner, true);
            } else {
                $fs->mkdir($inner);
            }
            \clearstatcache();
            return true;
        } catch (\Throwable $e) {
            return self::fail('mkdir', $path, $e, (bool)($options & \STREAM_REPORT_ERRORS));
        }
    }

    public function rmdir(string $path, int $options): bool
    {
        try {
            [$fs, $inner] = self::resolve($path);
            $fs->rmdir($inner);
            \clearstatcache();
            return true;
        } catch (\Throwable $e) {
            return self::fail('rmdir', $path, $e, (bool)($options & \STREAM_REPORT_ERRORS));
        }
    }

    /**
     * touch() creates a missing file; the times of an existing one stay
     * (whefs sets them itself, at each commit). chmod(), chown() and
     * chgrp() are not supported.
     */
    public function stream_metadata(string $path, int $option, mixed $value): bool
    {
        try {
            [$fs, $inner] = self::resolve($path);
            if ($option !== \STREAM_META_TOUCH) {
                throw new UnsupportedException('only touch() is supported, not chmod/chown/chgrp', \WHEFS_ERR_UNSUPPORTED);
            }
            if (!$fs->exists($inner)) {
                $fs->openFile($inner, 'c')->close();
                \clearstatcache();
            }
            return true;
        } catch (\Throwable $e) {
            return self::fail($option === \STREAM_META_TOUCH ? 'touch' : 'chmod', $path, $e);
        }
    }

    // -- directories ---------------------------------------------------------

    /**
     * The names as of opendir(): "." and ".." first, as plain directories
     * list them (so scandir() and array_slice(scandir($d), 2) work as
     * there), then the entries in name order.
     */
    public function dir_opendir(string $path, int $options): bool
    {
        try {
            [$fs, $inner] = self::resolve($path);
            $this->listing = ['.', '..', ...$fs->listdir($inner)];
            $this->listingPos = 0;
            return true;
        } catch (\Throwable $e) {
            return self::fail('opendir', $path, $e);
        }
    }

    public function dir_readdir(): string|false
    {
        return $this->listing[$this->listingPos++] ?? false;
    }

    public function dir_rewinddir(): bool
    {
        $this->listingPos = 0;
        return true;
    }

    public function dir_closedir(): bool
    {
        $this->listing = [];
        return true;
    }
}
