from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TallyConfig(AppConfig):
    name = "tally"
    verbose_name = _("Tally")

    def ready(self) -> None:
        from tally.receivers import on_election_state_changed
        from voting.signals import election_state_changed

        election_state_changed.connect(
            on_election_state_changed, dispatch_uid="tally.election_state_changed"
        )
