"""The scrubber's rules, one module per family; importing this package registers them."""

import therabill.scrubber.rules.chiropractic
import therabill.scrubber.rules.coding
import therabill.scrubber.rules.coverage
import therabill.scrubber.rules.diagnoses
import therabill.scrubber.rules.documentation
import therabill.scrubber.rules.identity
import therabill.scrubber.rules.intake
import therabill.scrubber.rules.ncci
import therabill.scrubber.rules.units  # noqa: F401
