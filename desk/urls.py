"""The staff desk (mounted under /staff/): window intake, in-person intake, the back office and
the unit head's decisions."""

from django.urls import path

from .views import (
    back_office,
    calendar,
    campaign_tasks,
    commitment_checks,
    findings,
    follow_ups,
    guide_reviews,
    in_person,
    intake,
    integrations,
    unit_head,
)

app_name = "staff"
urlpatterns = [
    path("integrations/", integrations.integrations_status, name="integrations"),
    path("intake/", intake.intake_queue, name="intake"),
    path("intake/new/", in_person.intake_new, name="intake_new"),
    path("intake/new/<str:reference>/", in_person.intake_in_person, name="intake_in_person"),
    path("intake/<str:reference>/", intake.intake_application, name="intake_application"),
    path("intake/<str:reference>/accept/", intake.intake_accept, name="intake_accept"),
    path(
        "intake/<str:reference>/precheck/<int:finding_id>/",
        intake.intake_precheck_verdict,
        name="intake_precheck_verdict",
    ),
    path("intake/<str:reference>/receipt/", intake.intake_receipt, name="intake_receipt"),
    path("intake/<str:reference>/return/", intake.intake_return, name="intake_return"),
    path("intake/<str:reference>/refuse/", intake.intake_refuse, name="intake_refuse"),
    path("intake/<str:reference>/visit/", intake.intake_visit, name="intake_visit"),
    path(
        "intake/<str:reference>/handed-over/", intake.intake_handed_over, name="intake_handed_over"
    ),
    path("intake/<str:reference>/posted/", intake.intake_posted, name="intake_posted"),
    path(
        "intake/<str:reference>/hotline-rating/",
        intake.intake_hotline_rating,
        name="intake_hotline_rating",
    ),
    path("cases/", back_office.case_queue, name="cases"),
    path("cases/<int:case_id>/", back_office.case_detail, name="case_detail"),
    path("cases/<int:case_id>/<slug:action>/", back_office.case_action, name="case_action"),
    path("follow-ups/", follow_ups.follow_up_queue, name="follow_ups"),
    path("follow-ups/<int:follow_up_id>/", follow_ups.follow_up_detail, name="follow_up_detail"),
    path(
        "follow-ups/<int:follow_up_id>/verify/",
        follow_ups.follow_up_verify,
        name="follow_up_verify",
    ),
    path(
        "follow-ups/<int:follow_up_id>/answer/",
        follow_ups.follow_up_answer,
        name="follow_up_answer",
    ),
    path(
        "follow-ups/<int:follow_up_id>/appeal/",
        follow_ups.follow_up_appeal,
        name="follow_up_appeal",
    ),
    path("campaign-tasks/", campaign_tasks.task_list, name="campaign_tasks"),
    path("campaign-tasks/<int:task_id>/", campaign_tasks.task_detail, name="campaign_task"),
    path("findings/", findings.finding_list, name="findings"),
    path("findings/<int:finding_id>/", findings.finding_detail, name="finding"),
    path("findings/<int:finding_id>/close/", findings.finding_close, name="finding_close"),
    path("findings/<int:finding_id>/evidence/", findings.finding_evidence, name="finding_evidence"),
    path("commitment-checks/", commitment_checks.check_queue, name="commitment_checks"),
    path(
        "commitment-checks/<int:check_id>/",
        commitment_checks.check_detail,
        name="commitment_check",
    ),
    path(
        "commitment-checks/<int:check_id>/method/",
        commitment_checks.check_method,
        name="commitment_check_method",
    ),
    path(
        "commitment-checks/<int:check_id>/evidence/",
        commitment_checks.check_evidence,
        name="commitment_check_evidence",
    ),
    path(
        "commitment-checks/<int:check_id>/evidence/file/",
        commitment_checks.check_evidence_file,
        name="commitment_check_evidence_file",
    ),
    path(
        "commitment-checks/<int:check_id>/outcome/",
        commitment_checks.check_outcome,
        name="commitment_check_outcome",
    ),
    path(
        "commitment-checks/<int:check_id>/decide/",
        commitment_checks.hearing_decide,
        name="commitment_hearing_decide",
    ),
    path(
        "commitment-checks/<int:check_id>/repayments/<int:order_id>/paid/",
        commitment_checks.repayment_paid,
        name="commitment_repayment_paid",
    ),
    path(
        "commitment-checks/<int:check_id>/bars/<int:bar_id>/lift/",
        commitment_checks.bar_lift,
        name="commitment_bar_lift",
    ),
    path("extensions/", unit_head.extension_list, name="extensions"),
    path(
        "extensions/<int:request_id>/decide/",
        unit_head.extension_decide,
        name="extension_decide",
    ),
    path("calendar/", calendar.calendar_this_year, name="calendar"),
    path("calendar/import/", calendar.calendar_import, name="calendar_import"),
    path("calendar/<int:year>/", calendar.calendar_year, name="calendar_year"),
    path("guides/", guide_reviews.guide_review_queue, name="guide_reviews"),
    path("guides/<int:version_id>/", guide_reviews.guide_review_detail, name="guide_review"),
    path(
        "guides/<int:version_id>/submit/",
        guide_reviews.guide_review_submit,
        name="guide_review_submit",
    ),
    path(
        "guides/<int:version_id>/approve/",
        guide_reviews.guide_review_approve,
        name="guide_review_approve",
    ),
    path(
        "guides/<int:version_id>/return/",
        guide_reviews.guide_review_return,
        name="guide_review_return",
    ),
]
