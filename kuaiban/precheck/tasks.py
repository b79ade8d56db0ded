"""The pre-check's reading of uploaded materials (OCR, seconds per document), queued once a
submission committed: never in the submission's transaction, never in the applicant's request
(with a broker; the demo without Redis runs tasks eagerly, where it is quick: the ID card is
shared data there, or no engine is installed)."""

from celery import shared_task

from kuaiban import broker

from .services import material_precheck


@shared_task(name="precheck.material_precheck", acks_late=True, ignore_result=True)
def material_precheck_task(application_id: int) -> int:
    """The rules that read uploaded materials on the application; how many findings stored."""
    return len(material_precheck(application_id))


def material_precheck_enqueue(application_id: int) -> bool:
    """Queue the reading of a submitted application's uploads (called once the submission
    committed, when `services.reads_uploads` said a rule reads one of them); False when the
    broker cannot be reached (logged: that submission's uploads are then not read)."""
    return broker.publish(material_precheck_task, (application_id,))
