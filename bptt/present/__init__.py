"""Presentation: figure conventions, kernel-free widgets and exercise checkers. The core never imports it."""
