#pragma once
// What stays resident in a long-lived process that is mostly idle: a shim (it lives as long as
// its container, so its resident set is Berth's per-container memory cost) and berthd between
// requests.

namespace berth {

/// Drops this process's page-table entries for the read-only file-backed pages of its binary
/// and libraries (code, read-only data) that it has not written.
///
/// A shim runs most of its code (spec parsing, mounts, seccomp, cgroups) exactly once, when it
/// creates its container, and berthd runs an import or a container start in bursts; afterwards
/// those pages would stay in the resident set although the idle process never touches them
/// (file-backed text is never reclaimed while the machine has free memory). MADV_DONTNEED on such a mapping only unmaps the pages from this process: they stay in
/// the page cache, shared with every other shim, and the ones the loop runs again come back as
/// minor faults. Safe with other threads running: what they execute faults back in. A mapping holding anonymous (copy-on-written) pages is left alone: a RELRO page
/// was written before it was made read-only, and dropping it would lose those writes.
/// Best effort; failures are ignored.
void drop_clean_file_pages() noexcept;

/// What a process gives back once it has been idle a while (berthd, a shim, the shim
/// launcher): the heap memory its work freed (glibc keeps it in its arenas otherwise, malloc_trim)
/// and the code pages that work ran (drop_clean_file_pages). Not after each request: a
/// millisecond or two, and what the next request runs faults back in.
void give_back_idle_memory() noexcept;

}  // namespace berth
