//! The port-contract test suite: one set of cases that every storage adapter must
//! pass, so PostgreSQL and SQLite behave the same behind the ports.
//!
//! An adapter's `tests/contract.rs` calls [`contract_tests!`] with an async function
//! that returns a fresh, empty, migrated store and a cleanup future, and a hook that
//! deletes an event row past its foreign keys; the macro expands to one
//! `#[tokio::test]` per case in [`cases`].

pub mod cases;
pub mod fixtures;

/// Expands to one `#[tokio::test]` per contract case.
///
/// `$make` is an async function (or closure) with no arguments returning
/// `(store, cleanup)`: a fresh empty migrated store implementing
/// `tengine_ports::Store + Clone + 'static`, and a future that disposes of it. The
/// cleanup runs even when the case fails. `$remove_event` is an async function taking
/// the store (owned) and a `tengine_domain::EventId`, deleting that event's row without
/// its deliveries, as a manual edit would. The calling crate needs `tokio` (macros,
/// multi-thread).
#[macro_export]
macro_rules! contract_tests {
    ($make:expr, $remove_event:expr) => {
        $crate::contract_tests!(@hooked $make, $remove_event;
            a_claimed_delivery_whose_event_vanished_is_failed_and_the_rest_still_come_through,
        );
        $crate::contract_tests!(@cases $make;
            accounts_round_trip_with_their_plans,
            a_duplicate_account_id_is_a_conflict,
            an_inserted_project_reads_back_unchanged,
            text_stored_under_older_rules_still_reads_back,
            another_accounts_project_is_never_seen,
            projects_are_listed_newest_first_with_ties_broken_by_id,
            cursor_pages_walk_every_list_like_the_numbered_pages,
            a_cursor_outside_the_list_is_named,
            nested_lists_are_read_only_under_their_live_owner,
            list_totals_follow_inserts_and_deletes,
            project_pages_report_the_total_and_honour_the_offset,
            a_project_list_can_be_restricted_to_one_project,
            updating_a_project_writes_name_description_and_updated_at,
            a_project_update_and_its_events_are_written_together,
            a_soft_deleted_project_disappears_with_its_keys,
            changing_a_missing_or_foreign_project_is_not_found,
            a_duplicate_project_id_is_a_conflict,
            an_inserted_key_reads_back_unchanged,
            a_key_is_only_found_under_its_own_project,
            keys_are_listed_newest_first_with_pages_and_totals,
            a_duplicate_key_id_or_digest_is_a_conflict,
            keys_are_found_by_current_and_previous_digest,
            updating_a_key_round_trips_every_field,
            last_used_only_moves_forward,
            bootstrap_is_claimed_once,
            concurrent_bootstrap_claims_have_one_winner,
            a_dropped_transaction_leaves_nothing_behind,
            committed_writes_become_visible,
            reads_inside_a_transaction_see_its_own_writes,
            concurrent_transactions_all_succeed,
            usage_rows_are_created_then_accumulated_in_every_counter,
            tool_calls_read_back_unchanged_once_each_newest_first,
            a_portal_code_is_exchanged_once_and_its_token_finds_the_session_and_key,
            a_member_session_keeps_its_member,
            signing_keys_round_trip_and_jtis_are_claimed_once,
            tool_call_filters_combine_and_page,
            tool_calls_before_the_cut_are_purged,
            tool_usage_sums_over_what_the_filter_leaves_open,
            usage_is_summed_over_keys_or_read_for_one_key,
            usage_hours_are_ascending_within_from_inclusive_to_exclusive,
            usage_for_another_accounts_or_a_missing_project_is_dropped,
            usage_of_a_soft_deleted_project_still_counts,
            adding_no_usage_is_a_no_op,
            concurrent_usage_flushes_all_land,
            usage_is_summed_per_live_project_busiest_first,
            failing_webhooks_are_listed_longest_failing_first,
            rate_counters_add_up_across_syncs_and_report_the_previous_window,
            rate_sync_results_follow_input_order,
            admit_one_admits_up_to_the_limit_counting_pending_and_carried,
            concurrent_admissions_never_pass_the_limit,
            concurrent_rate_syncs_all_land,
            an_appended_event_commits_with_its_transaction,
            a_batch_of_projects_and_events_lands_like_single_writes,
            usage_alerts_are_claimed_once_per_kind_and_window,
            concurrent_alert_claims_have_one_winner,
            old_rate_windows_are_purged,
            a_webhook_round_trips_every_field,
            stored_webhook_secrets_are_walked_in_id_order_and_replaced_only_if_unchanged,
            webhooks_are_listed_newest_first_with_pages_and_totals,
            deleting_a_webhook_removes_it_with_its_deliveries,
            events_fan_out_to_the_webhooks_that_receive_them,
            a_batch_of_several_projects_events_reaches_each_projects_webhooks,
            a_delivery_can_be_addressed_to_one_webhook,
            events_are_listed_newest_first_and_filtered_by_type,
            deliveries_are_listed_newest_first_with_their_attempts_in_order,
            a_dropped_transaction_leaves_no_deliveries,
            claims_respect_due_time_activity_and_leases,
            released_claims_are_claimable_at_once,
            concurrent_claims_take_each_delivery_exactly_once,
            completing_records_attempts_statuses_and_webhook_health,
            disabling_a_webhook_fails_its_pending_deliveries,
            failed_deliveries_are_taken_for_recovery_once,
            the_retention_purge_keeps_pending_and_newer_deliveries,
            a_webhooks_health_counts_its_attempts_and_says_why_it_is_off,
            a_throttled_webhooks_budget_is_shared_per_second,
            a_webhooks_backlog_follows_its_throttle_and_order_as_they_change,
            an_ordered_webhook_sends_one_at_a_time_in_creation_order,
            next_due_is_the_earliest_unleased_pending_time,
            a_new_idempotency_key_is_claimed_then_seen_in_progress,
            a_completed_idempotency_key_replays_its_exact_response,
            releasing_an_idempotency_key_lets_it_be_claimed_again,
            a_stale_idempotency_claim_is_taken_over,
            an_expired_idempotency_record_is_replaced,
            idempotency_keys_are_per_account,
            concurrent_idempotency_claims_have_one_winner,
            old_idempotency_records_are_purged,
            a_tool_round_trips_every_field,
            tool_names_are_unique_among_a_projects_live_tools,
            tools_are_listed_newest_first_with_pages_and_totals,
            a_deleted_tool_is_gone_for_every_read_and_write,
            deleting_a_project_deletes_its_tools,
            tool_secrets_are_walked_in_id_order_and_replaced_only_if_unchanged,
            an_integration_round_trips_and_is_found_as_a_client,
            an_auth_code_is_used_once_and_remembers_its_connection,
            tokens_follow_their_connection,
            deleting_an_integration_or_its_project_ends_its_tokens,
            the_registration_policy_round_trips_and_expired_secrets_are_purged,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, cleanup) = ($make)().await;
                // Run the case in its own task so a failure still reaches the cleanup.
                let outcome = ::tokio::spawn(async move { $crate::cases::$case(&store).await }).await;
                cleanup.await;
                $crate::settle(outcome, stringify!($case));
            }
        )*
    };
    (@hooked $make:expr, $remove_event:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, cleanup) = ($make)().await;
                let hooked = store.clone();
                let remove_event = move |id| $remove_event(hooked.clone(), id);
                let outcome = ::tokio::spawn(async move { $crate::cases::$case(&store, remove_event).await }).await;
                cleanup.await;
                $crate::settle(outcome, stringify!($case));
            }
        )*
    };
}

/// Re-raises a contract case's panic after its cleanup ran.
#[doc(hidden)]
pub fn settle(outcome: Result<(), tokio::task::JoinError>, case: &str) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("contract case {case} did not finish: {e}"),
        }
    }
}
