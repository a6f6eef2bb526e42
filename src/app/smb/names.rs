//! Wire values → the strings Suricata's SMB logger prints, plus little-endian readers and
//! string decoders that never panic on short input.

/// Longest string (in chars) copied from the wire into an event; keeps events bounded.
const MAX_STR: usize = 1024;

pub(super) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub(super) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

pub(super) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(super) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

pub(super) fn arr16_at(b: &[u8], off: usize) -> Option<[u8; 16]> {
    let s = b.get(off..off.checked_add(16)?)?;
    let mut a = [0u8; 16];
    a.copy_from_slice(s);
    Some(a)
}

/// `len` bytes at `off`, clipped to what is there (names may be cut by a truncated frame).
pub(super) fn clip(b: &[u8], off: usize, len: usize) -> &[u8] {
    let start = off.min(b.len());
    let end = off.saturating_add(len).min(b.len());
    &b[start..end]
}

/// UTF-16LE up to the first NUL or the end, lossy, capped.
pub(super) fn utf16(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .take(MAX_STR);
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// 8-bit (OEM) string up to the first NUL or the end, lossy, capped.
pub(super) fn oem(b: &[u8]) -> String {
    let end = memchr::memchr(0, b).unwrap_or(b.len()).min(MAX_STR);
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Suricata's GUID spelling (first three groups and the two halves of the fourth
/// little-endian), so `fuid`/`client_guid` match what Suricata-based content expects.
pub(super) fn guid(g: &[u8; 16]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[9], g[8], g[11], g[10], g[15], g[14], g[13],
        g[12]
    )
}

/// Windows FILETIME (100 ns since 1601) → Unix seconds; 0 stays 0 like Suricata.
pub(super) fn filetime_to_unix(ft: u64) -> u64 {
    (ft / 10_000_000).saturating_sub(11_644_473_600)
}

/// SMB2 DialectRevision in Suricata's spelling ("3.00", not "3.0").
pub(super) fn smb2_dialect(rev: u16) -> String {
    match rev {
        0x0202 => "2.02".into(),
        0x0210 => "2.10".into(),
        0x0222 => "2.22".into(),
        0x0224 => "2.24".into(),
        0x02ff => "2.??".into(),
        0x0300 => "3.00".into(),
        0x0302 => "3.02".into(),
        0x0310 => "3.10".into(),
        0x0311 => "3.11".into(),
        other => format!("0x{other:04x}"),
    }
}

pub(super) fn smb2_command(cmd: u16) -> String {
    let name = match cmd {
        0x00 => "NEGOTIATE_PROTOCOL",
        0x01 => "SESSION_SETUP",
        0x02 => "SESSION_LOGOFF",
        0x03 => "TREE_CONNECT",
        0x04 => "TREE_DISCONNECT",
        0x05 => "CREATE",
        0x06 => "CLOSE",
        0x07 => "FLUSH",
        0x08 => "READ",
        0x09 => "WRITE",
        0x0a => "LOCK",
        0x0b => "IOCTL",
        0x0c => "CANCEL",
        0x0d => "KEEPALIVE",
        0x0e => "FIND",
        0x0f => "CHANGE_NOTIFY",
        0x10 => "GET_INFO",
        0x11 => "SET_INFO",
        0x12 => "OPLOCK_BREAK",
        _ => return format!("SMB2_COMMAND_UNKNOWN_0x{cmd:04x}"),
    };
    format!("SMB2_COMMAND_{name}")
}

pub(super) fn smb1_command(cmd: u8) -> String {
    let name = match cmd {
        0x00 => "CREATE_DIRECTORY",
        0x01 => "DELETE_DIRECTORY",
        0x02 => "OPEN",
        0x03 => "CREATE",
        0x04 => "CLOSE",
        0x05 => "FLUSH",
        0x06 => "DELETE",
        0x07 => "RENAME",
        0x08 => "QUERY_INFORMATION",
        0x09 => "SET_INFORMATION",
        0x0a => "READ",
        0x0b => "WRITE",
        0x10 => "CHECK_DIRECTORY",
        0x24 => "LOCKING_ANDX",
        0x25 => "TRANS",
        0x26 => "TRANS_SECONDARY",
        0x2b => "ECHO",
        0x2d => "OPEN_ANDX",
        0x2e => "READ_ANDX",
        0x2f => "WRITE_ANDX",
        0x32 => "TRANS2",
        0x33 => "TRANS2_SECONDARY",
        0x34 => "FIND_CLOSE2",
        0x71 => "TREE_DISCONNECT",
        0x72 => "NEGOTIATE_PROTOCOL",
        0x73 => "SESSION_SETUP_ANDX",
        0x74 => "LOGOFF_ANDX",
        0x75 => "TREE_CONNECT_ANDX",
        0xa0 => "NT_TRANS",
        0xa1 => "NT_TRANS_SECONDARY",
        0xa2 => "NT_CREATE_ANDX",
        0xa4 => "NT_CANCEL",
        0xa5 => "NT_RENAME",
        _ => return format!("SMB1_COMMAND_UNKNOWN_0x{cmd:02x}"),
    };
    format!("SMB1_COMMAND_{name}")
}

/// NT status names for the codes common in file sharing; others print as hex.
pub(super) fn nt_status(code: u32) -> String {
    let name = match code {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010c => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0x8000_002d => "STATUS_STOPPED_ON_SYMLINK",
        0xc000_0001 => "STATUS_UNSUCCESSFUL",
        0xc000_0002 => "STATUS_NOT_IMPLEMENTED",
        0xc000_0003 => "STATUS_INVALID_INFO_CLASS",
        0xc000_0008 => "STATUS_INVALID_HANDLE",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xc000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_003b => "STATUS_OBJECT_PATH_SYNTAX_BAD",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_0054 => "STATUS_FILE_LOCK_CONFLICT",
        0xc000_0056 => "STATUS_DELETE_PENDING",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_006a => "STATUS_WRONG_PASSWORD",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_006e => "STATUS_ACCOUNT_RESTRICTION",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_007f => "STATUS_DISK_FULL",
        0xc000_009a => "STATUS_INSUFFICIENT_RESOURCES",
        0xc000_00b0 => "STATUS_PIPE_DISCONNECTED",
        0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00c9 => "STATUS_NETWORK_NAME_DELETED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_00d0 => "STATUS_REQUEST_NOT_ACCEPTED",
        0xc000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xc000_0103 => "STATUS_NOT_A_DIRECTORY",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_014b => "STATUS_PIPE_BROKEN",
        0xc000_019c => "STATUS_FS_DRIVER_REQUIRED",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_0225 => "STATUS_NOT_FOUND",
        0xc000_0257 => "STATUS_PATH_NOT_COVERED",
        0xc000_035c => "STATUS_NETWORK_SESSION_EXPIRED",
        _ => return format!("0x{code:08x}"),
    };
    name.into()
}

/// SMB2 CREATE / SMB1 NT_CREATE_ANDX CreateDisposition.
pub(super) fn disposition(d: u32) -> String {
    let name = match d {
        0 => "FILE_SUPERSEDE",
        1 => "FILE_OPEN",
        2 => "FILE_CREATE",
        3 => "FILE_OPEN_IF",
        4 => "FILE_OVERWRITE",
        5 => "FILE_OVERWRITE_IF",
        _ => return format!("0x{d:x}"),
    };
    name.into()
}

/// Share type as Suricata prints it (SMB2 ShareType; SMB1 is mapped onto the same values).
pub(super) fn share_type(t: u8) -> &'static str {
    match t {
        1 => "FILE",
        2 => "PIPE",
        3 => "PRINT",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_bounded() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u16_at(&b, 2), None);
        assert_eq!(u32_at(&b, usize::MAX), None);
        assert_eq!(u64_at(&b, 0), None);
        assert_eq!(clip(&b, 2, 10), &[3]);
        assert_eq!(clip(&b, 9, usize::MAX), &[] as &[u8]);
    }

    #[test]
    fn strings() {
        assert_eq!(utf16(b"a\0b\0\0\0c\0"), "ab");
        assert_eq!(utf16(b"a\0b"), "a");
        assert_eq!(oem(b"NT LM 0.12\0x"), "NT LM 0.12");
        assert_eq!(filetime_to_unix(0), 0);
        assert_eq!(filetime_to_unix(116_444_736_000_000_000 + 10_000_000), 1);
    }

    #[test]
    fn guid_matches_suricata_spelling() {
        // FileId bytes of suricata-verify smb1-01's "Test\2009-12 Payroll.xlsx".
        let g = [
            0x65, 0, 0, 0, 0x30, 0, 0, 0, 0x25, 0, 0x20, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(guid(&g), "00000065-0030-0000-0025-0020ffffffff");
    }
}
