"""The trajectory: its model (steps, judgements), its renderings (format presets) and its
verifiers. Light on purpose: a reward worker imports ``formats`` without Pillow."""
