"""The MITRE ATT&CK catalogue (Enterprise matrix): tactics and techniques, imported from the
enterprise-attack STIX 2.1 bundle (attack.services.import_catalogue). The lowest domain floor:
alerts and cases name these models (Alert.techniques, Case.techniques), never the reverse."""

from django.db import models

ATTACK_SITE = "https://attack.mitre.org"


class Tactic(models.Model):
    """An ATT&CK tactic (x-mitre-tactic), e.g. TA0002 Execution; ``order`` is its column in the matrix."""

    external_id = models.CharField(max_length=16, unique=True)
    shortname = models.CharField(max_length=64, unique=True,
                                 help_text="The kill_chain_phases phase_name techniques use, e.g. 'execution'.")
    name = models.CharField(max_length=128)
    order = models.PositiveSmallIntegerField(default=0, help_text="Column in the Enterprise matrix (0 first).")
    url = models.URLField(blank=True)
    stix_id = models.CharField(max_length=100, unique=True)
    deprecated = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "external_id"]

    def __str__(self):
        return f"{self.external_id} {self.name}"


class Technique(models.Model):
    """An ATT&CK technique or sub-technique (attack-pattern), e.g. T1059 or T1059.001."""

    external_id = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="subtechniques")
    is_subtechnique = models.BooleanField(default=False)
    tactics = models.ManyToManyField(Tactic, blank=True, related_name="techniques")
    url = models.URLField(blank=True)
    stix_id = models.CharField(max_length=100, unique=True)
    deprecated = models.BooleanField(default=False)
    revoked = models.BooleanField(default=False)
    modified = models.DateTimeField(null=True, blank=True, help_text="The STIX object's 'modified' time.")

    class Meta:
        ordering = ["external_id"]

    def __str__(self):
        return f"{self.external_id} {self.name}"

    @property
    def link(self) -> str:
        """Its page on attack.mitre.org (the bundle's URL, else the one the site's scheme gives)."""
        return self.url or f"{ATTACK_SITE}/techniques/{self.external_id.replace('.', '/')}/"

    @property
    def usable(self) -> bool:
        return not (self.revoked or self.deprecated)
