//! Endpoint telemetry: which process opened a connection, from the endpoints' own logs
//! (Sysmon Event ID 3 and the like). A sensor on a TAP cannot see processes; the hosts
//! already log them, so flows are joined to those records by transport, four-tuple and time.

use serde::Serialize;

/// The process an endpoint record names for a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Full image path, e.g. `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`.
    pub image: String,
    /// File name of the image, lower-cased: what allowlists and suspicious-image lists match.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}
