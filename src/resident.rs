//! What of the agent's own binary it gives back to the kernel once started.
//!
//! The agent is a position-independent executable (for ASLR), so before `main` the dynamic
//! loader reads its whole relocation table (`.rela.dyn`, about 52,000 entries, 1.2 MiB) to fix
//! up the pointers in `.data.rel.ro`, and never reads it again. Those pages stay mapped and count
//! in the agent's resident set (a tenth of its peak on the issue-14 workload) until the kernel
//! needs the memory. `release_relocation_table` unmaps them with `MADV_DONTNEED`.
//!
//! Why this is safe: the table lies in a read-only, file-backed, private segment (checked against
//! the program headers; a binary with text relocations is left alone), so no page of it was ever
//! written and `MADV_DONTNEED` only drops the mapping: a later read, if any, maps the same bytes
//! from the file again. Only whole pages inside the table are released.

/// The ELF dynamic tags and segment types read here (`elf.h`).
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_PHDR: u32 = 6;
const PF_W: u32 = 2;
const DT_NULL: i64 = 0;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_TEXTREL: i64 = 22;
const DT_FLAGS: i64 = 30;
const DF_TEXTREL: u64 = 4;

/// One entry of the dynamic section (`Elf64_Dyn`; the libc crate has no such type).
#[repr(C)]
struct Dyn {
    d_tag: i64,
    d_un: u64,
}

/// The relocation table's place in memory, read from the running executable's own headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub start: usize,
    pub len: usize,
}

/// Unmaps the whole pages of the executable's relocation table; the bytes released (0 when
/// there is nothing to release or it cannot be found safely).
pub fn release_relocation_table() -> usize {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        let Some(table) = relocation_table() else {
            return 0;
        };
        let page = page_size();
        let Some((start, len)) = whole_pages(table, page) else {
            return 0;
        };
        // SAFETY: [start, start + len) is whole pages of a read-only, never-written, private
        // file mapping of our own executable (`relocation_table` checked it against the
        // program headers); MADV_DONTNEED drops the mapping and a later access maps the file's
        // same bytes again.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if rc == 0 {
            return len;
        }
    }
    0
}

/// The page-aligned part of `table`: its first whole page to its last one.
pub fn whole_pages(table: Table, page: usize) -> Option<(usize, usize)> {
    if page == 0 || !page.is_power_of_two() {
        return None;
    }
    let start = table.start.checked_add(page - 1)? & !(page - 1);
    let end = table.start.checked_add(table.len)? & !(page - 1);
    (end > start).then_some((start, end - start))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(0)
}

/// `.rela.dyn` of the running executable, when it lies wholly in a read-only loaded segment and
/// the binary has no text relocations.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn relocation_table() -> Option<Table> {
    // SAFETY: getauxval has no preconditions; AT_PHDR/AT_PHNUM describe the executable's
    // program headers, mapped for the life of the process.
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR) as usize,
            libc::getauxval(libc::AT_PHNUM) as usize,
        )
    };
    if phdr == 0 || phnum == 0 {
        return None;
    }
    // SAFETY: as above: `phnum` headers at `phdr`, our own binary's.
    let headers = unsafe { std::slice::from_raw_parts(phdr as *const libc::Elf64_Phdr, phnum) };
    let bias = headers
        .iter()
        .find(|h| h.p_type == PT_PHDR)
        .map(|h| phdr.wrapping_sub(h.p_vaddr as usize))?;
    let dynamic = headers.iter().find(|h| h.p_type == PT_DYNAMIC)?;
    let entries = dynamic.p_memsz as usize / std::mem::size_of::<Dyn>();
    // SAFETY: the dynamic section of our own binary, `entries` long, mapped for the process's
    // life (the loader reads it the same way).
    let dynamic = unsafe {
        std::slice::from_raw_parts(
            bias.wrapping_add(dynamic.p_vaddr as usize) as *const Dyn,
            entries,
        )
    };
    let (mut rela, mut size) = (None, None);
    for d in dynamic {
        match d.d_tag {
            DT_NULL => break,
            DT_RELA => rela = Some(d.d_un as usize),
            DT_RELASZ => size = Some(d.d_un as usize),
            DT_TEXTREL => return None,
            DT_FLAGS if d.d_un & DF_TEXTREL != 0 => return None,
            _ => {}
        }
    }
    let loads: Vec<(usize, usize, bool)> = headers
        .iter()
        .filter(|h| h.p_type == PT_LOAD)
        .map(|h| {
            (
                bias.wrapping_add(h.p_vaddr as usize),
                h.p_memsz as usize,
                h.p_flags & PF_W != 0,
            )
        })
        .collect();
    locate(rela?, size?, bias, &loads)
}

/// Where a `DT_RELA` value points (glibc's loader rewrites the executable's own dynamic section
/// to absolute addresses, other loaders leave it relative to the load bias), provided the table
/// lies wholly inside one read-only loaded segment (start, length, writable).
pub fn locate(
    rela: usize,
    size: usize,
    bias: usize,
    loads: &[(usize, usize, bool)],
) -> Option<Table> {
    let start = if rela >= bias {
        rela
    } else {
        rela.checked_add(bias)?
    };
    let end = start.checked_add(size)?;
    let inside = loads.iter().any(|&(at, len, writable)| {
        !writable && start >= at && at.checked_add(len).is_some_and(|seg_end| end <= seg_end)
    });
    (inside && size > 0).then_some(Table { start, len: size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_pages_inside_the_table_are_released() {
        let t = Table {
            start: 0x26d0,
            len: 0x131088,
        };
        assert_eq!(whole_pages(t, 4096), Some((0x3000, 0x133000 - 0x3000)));
        // Shorter than a page and straddling one: nothing.
        let t = Table {
            start: 0x1ff0,
            len: 0x20,
        };
        assert_eq!(whole_pages(t, 4096), None);
        // Exactly one page.
        let t = Table {
            start: 0x2000,
            len: 0x1000,
        };
        assert_eq!(whole_pages(t, 4096), Some((0x2000, 0x1000)));
        assert_eq!(whole_pages(t, 0), None);
        assert_eq!(
            whole_pages(
                Table {
                    start: usize::MAX - 10,
                    len: 100
                },
                4096
            ),
            None
        );
    }

    #[test]
    fn the_table_must_lie_in_a_read_only_segment() {
        let bias = 0x5555_0000_0000;
        let loads = [(bias, 0x669158, false), (bias + 0x185a370, 0xddc90, true)];
        // Relative (as in the file) and absolute (as glibc leaves it) give the same place.
        let want = Some(Table {
            start: bias + 0x26d0,
            len: 0x131088,
        });
        assert_eq!(locate(0x26d0, 0x131088, bias, &loads), want);
        assert_eq!(locate(bias + 0x26d0, 0x131088, bias, &loads), want);
        // In the writable segment, past a segment's end, or empty: left alone.
        assert_eq!(locate(0x185a400, 0x100, bias, &loads), None);
        assert_eq!(locate(0x669000, 0x1000, bias, &loads), None);
        assert_eq!(locate(0x26d0, 0, bias, &loads), None);
    }

    /// Whether the page at `addr` is mapped in this process (`/proc/self/pagemap`, bit 63).
    fn mapped(addr: usize) -> bool {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut entry = [0u8; 8];
        f.read_exact_at(&mut entry, (addr / page_size() * 8) as u64)
            .unwrap();
        u64::from_le_bytes(entry) >> 63 == 1
    }

    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    #[test]
    fn the_running_test_binary_finds_its_table_and_still_works_after_releasing_it() {
        let Some(t) = relocation_table() else {
            panic!("the test binary (a PIE) has a relocation table");
        };
        // SAFETY: the table lies in a read-only loaded segment of this binary.
        let read = || unsafe { std::slice::from_raw_parts(t.start as *const u8, t.len) }.to_vec();
        let before = read();
        // Whole 24-byte entries (Elf64_Rela), not all zero.
        assert_eq!(t.len % 24, 0);
        assert!(before.iter().any(|&b| b != 0));
        let (first, _) = whole_pages(t, page_size()).expect("a table of whole pages");
        assert!(mapped(first), "the loader read the table");
        let released = release_relocation_table();
        assert!(released <= t.len && released > 0, "{released} of {}", t.len);
        assert!(!mapped(first), "the table's pages are no longer mapped");
        // The table reads the same after its pages were dropped (mapped again from the file).
        assert!(read() == before);
    }
}
