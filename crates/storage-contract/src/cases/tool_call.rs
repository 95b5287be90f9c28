//! The tool call log and per-tool usage rollups.

use tengine_domain::member::MemberId;
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::tool_call::{
    ToolCallFilter, ToolCallRecord, ToolCallStatus, ToolUsageDelta, ToolUsageFilter, ToolUsageKey,
};
use tengine_domain::{AccountId, PageRequest, ProjectId, ToolCallId, ToolId};
use tengine_ports::Store;
use uuid::Uuid;

use crate::fixtures::{account, at, hour, key_id, project, sum_of, usage_counts};

fn call(account: AccountId, project: ProjectId, tool: ToolId, secs: i64, status: ToolCallStatus) -> ToolCallRecord {
    ToolCallRecord {
        id: ToolCallId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: project,
        tool_id: tool,
        tool_name: "crm-get".to_owned(),
        api_key_id: key_id(),
        member_id: None,
        status,
        upstream_status: (status != ToolCallStatus::Refused).then_some(502),
        latency_us: 41_500,
        error: (status != ToolCallStatus::Succeeded).then(|| "The API answered HTTP 502.".to_owned()),
        request_id: (status != ToolCallStatus::Refused).then(Uuid::new_v4),
        arguments: None,
        result: None,
        created_at: at(secs),
    }
}

fn tool_id() -> ToolId {
    ToolId::from_uuid(Uuid::new_v4())
}

/// Every field reads back as written (payloads and member included); a batch written
/// twice (a retried flush) stores each call once; listing is newest first.
pub async fn tool_calls_read_back_unchanged_once_each_newest_first<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let tool = tool_id();
    let mut full = call(acct.id, p.id, tool, 10, ToolCallStatus::Succeeded);
    full.member_id = Some("user-42".parse::<MemberId>().expect("member"));
    full.arguments = Some(SealedSecret::from_stored("sealed:v1:k:args".to_owned()));
    full.result = Some(SealedSecret::from_stored("sealed:v1:k:result".to_owned()));
    let refused = call(acct.id, p.id, tool, 20, ToolCallStatus::Refused);
    let batch = vec![full.clone(), refused.clone()];
    store.insert_tool_calls(&batch).await.expect("insert");
    store.insert_tool_calls(&batch).await.expect("a retried batch");
    let page = store.list_tool_calls(p.id, &ToolCallFilter::default(), PageRequest::new(1, 10)).await.expect("list");
    assert_eq!(page.total, 2);
    assert_eq!(page.items, vec![refused, full.clone()]);
    assert_eq!(store.get_tool_call(p.id, full.id).await.expect("get"), Some(full.clone()));
    let other = project(store, acct.id, at(1)).await;
    assert_eq!(store.get_tool_call(other.id, full.id).await.expect("get"), None);
}

/// Filters by tool, member and status combine; pages split the filtered rows.
pub async fn tool_call_filters_combine_and_page<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (a, b) = (tool_id(), tool_id());
    let member: MemberId = "m-1".parse().expect("member");
    let mut calls = Vec::new();
    for i in 0..6 {
        let status = if i % 2 == 0 { ToolCallStatus::Succeeded } else { ToolCallStatus::Failed };
        let mut c = call(acct.id, p.id, if i < 4 { a } else { b }, i, status);
        if i % 3 == 0 {
            c.member_id = Some(member.clone());
        }
        calls.push(c);
    }
    store.insert_tool_calls(&calls).await.expect("insert");
    let list = |f: ToolCallFilter, page: u32| {
        let f = f.clone();
        async move { store.list_tool_calls(p.id, &f, PageRequest::new(page, 2)).await.expect("list") }
    };
    let of_a = list(ToolCallFilter { tool_id: Some(a), ..Default::default() }, 1).await;
    assert_eq!((of_a.total, of_a.items.len()), (4, 2));
    assert_eq!(of_a.items[0].id, calls[3].id);
    let page2 = list(ToolCallFilter { tool_id: Some(a), ..Default::default() }, 2).await;
    assert_eq!(page2.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![calls[1].id, calls[0].id]);
    let failed_of_member =
        list(ToolCallFilter { member_id: Some(member), status: Some(ToolCallStatus::Failed), tool_id: None }, 1).await;
    assert_eq!(failed_of_member.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![calls[3].id]);
}

/// Calls older than the cut are purged; newer ones stay.
pub async fn tool_calls_before_the_cut_are_purged<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (old, new) = (
        call(acct.id, p.id, tool_id(), 5, ToolCallStatus::Failed),
        call(acct.id, p.id, tool_id(), 50, ToolCallStatus::Succeeded),
    );
    store.insert_tool_calls(&[old, new.clone()]).await.expect("insert");
    assert_eq!(store.purge_tool_calls(at(10)).await.expect("purge"), 1);
    let page = store.list_tool_calls(p.id, &ToolCallFilter::default(), PageRequest::new(1, 10)).await.expect("list");
    assert_eq!(page.items, vec![new]);
}

/// Tool usage accumulates per (hour, tool, member, key) and sums over whatever the
/// filter leaves open; another account's project never gets rows.
pub async fn tool_usage_sums_over_what_the_filter_leaves_open<S: Store>(store: &S) {
    let acct = account(store).await;
    let stranger = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (t1, t2) = (tool_id(), tool_id());
    let (k1, k2) = (key_id(), key_id());
    let c: Vec<_> = (1..=5).map(usage_counts).collect();
    let delta = |account, tool, member: &str, key, h, counts: &tengine_domain::usage::UsageCounts| ToolUsageDelta {
        key: ToolUsageKey {
            account_id: account,
            project_id: p.id,
            hour: hour(h),
            tool_id: tool,
            member_id: member.to_owned(),
            api_key_id: key,
        },
        counts: counts.clone(),
    };
    store
        .add_tool_usage(&[
            delta(acct.id, t1, "", k1, 0, &c[0]),
            delta(acct.id, t1, "m", k1, 0, &c[1]),
            delta(acct.id, t2, "m", k2, 0, &c[2]),
            delta(acct.id, t1, "", k1, 1, &c[3]),
            delta(stranger.id, t1, "", k1, 0, &c[4]),
        ])
        .await
        .expect("add");
    store.add_tool_usage(&[delta(acct.id, t1, "", k1, 1, &c[0])]).await.expect("accumulate");
    let read =
        |f: ToolUsageFilter| async move { store.tool_usage_by_hour(p.id, &f, hour(0), hour(2)).await.expect("read") };
    let all = read(ToolUsageFilter::default()).await;
    assert_eq!(all, vec![(hour(0), sum_of([&c[0], &c[1], &c[2]])), (hour(1), sum_of([&c[3], &c[0]]))]);
    let of_t1 = read(ToolUsageFilter { tool_id: Some(t1), ..Default::default() }).await;
    assert_eq!(of_t1, vec![(hour(0), sum_of([&c[0], &c[1]])), (hour(1), sum_of([&c[3], &c[0]]))]);
    let member = Some("m".parse::<MemberId>().expect("member"));
    let of_m = read(ToolUsageFilter { member_id: member.clone(), ..Default::default() }).await;
    assert_eq!(of_m, vec![(hour(0), sum_of([&c[1], &c[2]]))]);
    let of_m_t2_k2 = read(ToolUsageFilter { tool_id: Some(t2), member_id: member, api_key_id: Some(k2) }).await;
    assert_eq!(of_m_t2_k2, vec![(hour(0), c[2].clone())]);
}
