//! File naming conventions the vendors' own CI enforces.
//!
//! - Sigma (`sigma_filename`): SigmaHQ's validators (pySigma-validators-sigmaHQ
//!   `SigmahqFilenameConventionValidator` and `SigmahqFilenamePrefixValidator`): the name
//!   is 10 to 90 characters of `[a-z0-9_]` with an `_`, ending `.yml`, and starts with the
//!   prefix of its log source (`proc_creation_win_`, `win_security_`...), or of its product
//!   when the full log source has no prefix; a correlation rule's name starts with
//!   `correlation_` (`SigmahqCorrelationFilenamePrefixValidator`). Filter rules are exempt.
//! - Splunk ESCU (`escu_naming`): contentctl's `ensureFileNameMatchesSearchName` (file name =
//!   the `name` with space, `-`, `.`, `/` turned into `_`, lower-cased, `.yml`) and its
//!   name length limit (67 characters: `ESCU - <name> - Rule` cloned in Enterprise Security
//!   as `<domain> - ESCU - <name> - Rule - Rule` must fit in 99).

use crate::model::{FacetKind, Rule};

/// Prefix by (category, product, service) (empty = not given), as SigmaHQ lists them
/// (pySigma-validators-sigmaHQ `tools/sigmahq_filename.json`, version 20240809). An entry with
/// only a product is the fallback for log sources of that product that have no entry.
const PREFIX: &[(&str, &str, &str, &str)] = &[
    ("", "", "apache", "web_apache_"),
    ("", "", "nginx", "web_nginx_"),
    ("", "aws", "", "aws"),
    ("", "azure", "", "azure_"),
    ("", "bitbucket", "audit", "bitbucket_audit_"),
    ("", "cisco", "", "cisco_"),
    ("", "fortios", "", "fortios_"),
    ("", "gcp", "", "gcp_"),
    ("", "github", "", "github_"),
    ("", "huawei", "", "huawei_"),
    ("", "juniper", "", "juniper_"),
    ("", "kubernetes", "audit", "kubernetes_audit_"),
    ("", "linux", "", "lnx_"),
    ("", "linux", "auditd", "lnx_auditd_"),
    ("", "linux", "auth", "lnx_auth_"),
    ("", "linux", "clamav", "lnx_clamav"),
    ("", "linux", "cron", "lnx_cron_"),
    ("", "linux", "guacamole", "lnx_guacamole_"),
    ("", "linux", "sshd", "lnx_sshd_"),
    ("", "linux", "sudo", "lnx_sudo"),
    ("", "linux", "syslog", "lnx_syslog_"),
    ("", "linux", "vsftpd", "lnx_vsftpd_"),
    ("", "m365", "", "microsoft365_"),
    ("", "macos", "", "macos_"),
    ("", "okta", "", "okta_"),
    ("", "onelogin", "", "onelogin_"),
    ("", "windows", "", "win_"),
    ("", "windows", "applocker", "win_applocker_"),
    ("", "windows", "appmodel-runtime", "win_appmodel_runtime_"),
    (
        "",
        "windows",
        "appxdeployment-server",
        "win_appxdeployment_server_",
    ),
    ("", "windows", "appxpackaging-om", "win_appxpackaging_om_"),
    ("", "windows", "bits-client", "win_bits_client_"),
    ("", "windows", "capi2", "win_capi2_"),
    (
        "",
        "windows",
        "certificateservicesclient-lifecycle-system",
        "win_certificateservicesclient_lifecycle_system_",
    ),
    (
        "",
        "windows",
        "codeintegrity-operational",
        "win_codeintegrity_",
    ),
    (
        "",
        "windows",
        "diagnosis-scripted",
        "win_diagnosis_scripted",
    ),
    ("", "windows", "dns-client", "win_dns_client"),
    ("", "windows", "dns-server", "win_dns_server"),
    ("", "windows", "dns-server-analytic", "win_dns_analytic_"),
    ("", "windows", "firewall-as", "win_firewall_as_"),
    ("", "windows", "ldap", "win_ldap_"),
    ("", "windows", "lsa-server", "win_lsa_server_"),
    ("", "windows", "msexchange-management", "win_exchange_"),
    ("", "windows", "openssh", "win_sshd_openssh_"),
    ("", "windows", "powershell-classic", "posh_pc_"),
    ("", "windows", "security", "win_security_"),
    (
        "",
        "windows",
        "security-mitigations",
        "win_security_mitigations_",
    ),
    ("", "windows", "shell-core", "win_shell_core"),
    (
        "",
        "windows",
        "smbclient-connectivity",
        "win_smbclient_connectivity_",
    ),
    (
        "",
        "windows",
        "smbclient-security",
        "win_smbclient_security_",
    ),
    ("", "windows", "sysmon", "sysmon_"),
    ("", "windows", "system", "win_system_"),
    ("", "windows", "taskscheduler", "win_taskscheduler_"),
    (
        "",
        "windows",
        "terminalservices-localsessionmanager",
        "win_terminalservices_",
    ),
    ("", "windows", "windefend", "win_defender_"),
    ("", "windows", "wmi", "win_wmi_"),
    ("", "zeek", "", "zeek_"),
    ("antivirus", "", "", "av_"),
    (
        "appliance",
        "paloalto",
        "globalprotect",
        "paloalto_globalprotect_",
    ),
    ("application", "django", "", "appframework_django_"),
    ("application", "jvm", "", "java_"),
    ("application", "kubernetes", "audit", "kubernetes_audit_"),
    ("application", "nodejs", "", "nodejs_"),
    ("application", "opencanary", "", "opencanary_"),
    ("application", "python", "", "app_python_"),
    ("application", "rpc_firewall", "", "rpc_firewall_"),
    ("application", "ruby_on_rails", "", "appframework_ruby_"),
    ("application", "spring", "", "spring_"),
    ("application", "velocity", "", "velocity_"),
    (
        "create_remote_thread",
        "windows",
        "",
        "create_remote_thread_win_",
    ),
    ("create_stream_hash", "windows", "", "create_stream_hash_"),
    ("database", "", "", "db_"),
    ("dns", "", "", "net_dns_"),
    ("dns_query", "windows", "", "dns_query_win_"),
    ("driver_load", "windows", "", "driver_load_win_"),
    ("file_access", "windows", "", "file_access_win_"),
    ("file_change", "windows", "", "file_change_win_"),
    ("file_delete", "windows", "", "file_delete_win_"),
    ("file_event", "linux", "", "file_event_lnx_"),
    ("file_event", "macos", "", "file_event_macos_"),
    (
        "file_event",
        "paloalto",
        "globalprotect",
        "file_event_paloalto_globalprotect_",
    ),
    ("file_event", "windows", "", "file_event_win_"),
    (
        "file_executable_detected",
        "windows",
        "",
        "file_executable_detected_win_",
    ),
    ("file_rename", "windows", "", "file_rename_win_"),
    ("firewall", "", "", "net_firewall_"),
    ("image_load", "windows", "", "image_load_"),
    ("network_connection", "linux", "", "net_connection_lnx_"),
    ("network_connection", "windows", "", "net_connection_win_"),
    ("pipe_created", "windows", "", "pipe_created_"),
    ("process_access", "windows", "", "proc_access_win_"),
    ("process_creation", "linux", "", "proc_creation_lnx_"),
    ("process_creation", "macos", "", "proc_creation_macos_"),
    ("process_creation", "windows", "", "proc_creation_win_"),
    ("process_tampering", "windows", "", "proc_tampering_"),
    ("proxy", "", "", "proxy_"),
    ("ps_classic_provider_start", "windows", "", "posh_pc_"),
    ("ps_classic_start", "windows", "", "posh_pc_"),
    ("ps_module", "windows", "", "posh_pm_"),
    ("ps_script", "windows", "", "posh_ps_"),
    ("raw_access_thread", "windows", "", "raw_access_thread_"),
    ("registry_add", "windows", "", "registry_add_"),
    ("registry_delete", "windows", "", "registry_delete_"),
    ("registry_event", "windows", "", "registry_event_"),
    ("registry_set", "windows", "", "registry_set_"),
    ("sysmon_error", "windows", "", "sysmon_"),
    ("sysmon_status", "windows", "", "sysmon_"),
    ("webserver", "", "", "web_"),
    ("wmi_event", "windows", "", "sysmon_wmi_"),
];

/// contentctl's longest detection name.
pub const ESCU_MAX_NAME: usize = 67;

fn first(rule: &Rule, kind: FacetKind) -> &str {
    rule.facet_values(kind).next().unwrap_or("")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What is wrong with a Sigma rule's file name, if anything.
pub fn sigma_filename(rule: &Rule) -> Option<String> {
    let top = |k: &str| rule.raw.lines().any(|l| l.starts_with(k));
    if top("filter:") {
        return None;
    }
    let name = file_name(&rule.source.path);
    let Some(stem) = name.strip_suffix(".yml") else {
        return Some(format!("`{name}` does not end in `.yml`"));
    };
    if !(10..=90).contains(&stem.len())
        || !stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || !stem.contains('_')
    {
        return Some(format!(
            "`{name}` is not 10 to 90 characters of lower-case letters, digits and `_` (with at least one `_`) before `.yml`"
        ));
    }
    if top("correlation:") {
        return (!name.starts_with("correlation_")).then(|| {
            format!("`{name}` is a correlation rule and does not start with `correlation_`")
        });
    }
    // A file holding a correlation and the rules it correlates has several log sources.
    if rule.raw.contains("\ncorrelation:") {
        return None;
    }
    let (c, p, s) = (
        first(rule, FacetKind::Category),
        first(rule, FacetKind::Product),
        first(rule, FacetKind::Service),
    );
    let find = |c: &str, p: &str, s: &str| {
        PREFIX
            .iter()
            .find(|x| x.0 == c && x.1 == p && x.2 == s)
            .map(|x| x.3)
    };
    let prefix = find(c, p, s).or_else(|| if p.is_empty() { None } else { find("", p, "") })?;
    (!name.starts_with(prefix)).then(|| {
        let ls: Vec<&str> = [p, c, s].into_iter().filter(|x| !x.is_empty()).collect();
        format!(
            "`{name}` does not start with `{prefix}`, the prefix of log source `{}`",
            ls.join("/")
        )
    })
}

/// contentctl's file name for a content name.
pub fn escu_file_name(name: &str) -> String {
    name.replace([' ', '-', '.', '/'], "_").to_lowercase() + ".yml"
}

/// What is wrong with an ESCU detection's name or file name.
pub fn escu_naming(rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    let name = rule.title.as_str();
    if name.is_empty() {
        return out;
    }
    let actual = file_name(&rule.source.path);
    let expected = escu_file_name(name);
    if actual != expected {
        out.push(format!(
            "file name `{actual}` does not follow the name: contentctl expects `{expected}`"
        ));
    }
    let n = name.chars().count();
    if n > ESCU_MAX_NAME {
        out.push(format!(
            "name is {n} characters; contentctl allows {ESCU_MAX_NAME} (`ESCU - <name> - Rule` cloned in Enterprise Security must fit in 99)"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceLocation, Vendor};

    fn sigma(path: &str, ls: &[(FacetKind, &str)], raw: &str) -> Rule {
        let mut r = Rule::new(
            Vendor::Sigma,
            "x",
            SourceLocation {
                root: 0,
                path: path.into(),
                line: 1,
            },
        );
        for (k, v) in ls {
            r.facet(*k, *v);
        }
        r.raw = raw.into();
        r
    }

    const WIN_PROC: &[(FacetKind, &str)] = &[
        (FacetKind::Product, "windows"),
        (FacetKind::Category, "process_creation"),
    ];

    #[test]
    fn sigma_names_follow_sigmahq() {
        let ok = sigma(
            "rules/windows/proc_creation_win_whoami_all.yml",
            WIN_PROC,
            "",
        );
        assert_eq!(sigma_filename(&ok), None);
        let bad_prefix = sigma("rules/win_whoami_all_groups.yml", WIN_PROC, "");
        assert!(sigma_filename(&bad_prefix)
            .unwrap()
            .contains("proc_creation_win_"));
        let upper = sigma("rules/Proc_Creation_Win_X.yml", WIN_PROC, "");
        assert!(sigma_filename(&upper).unwrap().contains("lower-case"));
        let short = sigma("rules/proc_x.yml", &[], "");
        assert!(sigma_filename(&short).is_some());
        let yaml = sigma("rules/proc_creation_win_whoami.yaml", WIN_PROC, "");
        assert!(sigma_filename(&yaml).unwrap().contains(".yml"));
        // Product fallback, and no rule for unknown products.
        let svc = sigma(
            "rules/win_foo_service_thing.yml",
            &[(FacetKind::Product, "windows"), (FacetKind::Service, "foo")],
            "",
        );
        assert_eq!(sigma_filename(&svc), None);
        let aws = sigma(
            "rules/cloudtrail_thing_happened.yml",
            &[
                (FacetKind::Product, "aws"),
                (FacetKind::Service, "cloudtrail"),
            ],
            "",
        );
        assert!(sigma_filename(&aws).unwrap().contains("`aws`"));
        let other = sigma(
            "rules/anything_goes_here.yml",
            &[(FacetKind::Product, "fortigate")],
            "",
        );
        assert_eq!(sigma_filename(&other), None);
        let corr = sigma(
            "rules/many_failed_logons.yml",
            &[],
            "title: x\ncorrelation:\n  type: x\n",
        );
        assert!(sigma_filename(&corr).unwrap().contains("correlation_"));
        let corr = sigma(
            "rules/correlation_many_failed_logons.yml",
            &[],
            "title: x\ncorrelation:\n  type: x\n",
        );
        assert_eq!(sigma_filename(&corr), None);
    }

    #[test]
    fn escu_names_follow_contentctl() {
        assert_eq!(
            escu_file_name("Windows Service Created - Via Sc.exe/Remote"),
            "windows_service_created___via_sc_exe_remote.yml"
        );
        let mut r = sigma("detections/endpoint/windows_x_y.yml", &[], "");
        r.vendor = Vendor::Splunk;
        r.title = "Windows X Y".into();
        assert!(escu_naming(&r).is_empty());
        r.title = "Windows X-Z".into();
        assert!(escu_naming(&r)[0].contains("windows_x_z.yml"));
        r.title = "W".repeat(68);
        assert_eq!(escu_naming(&r).len(), 2);
    }
}
