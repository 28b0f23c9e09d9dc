"""``python -m gradient_boosting_model.release``: see ``cli``."""

from gradient_boosting_model.release.cli import main

raise SystemExit(main())
