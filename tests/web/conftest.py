"""The dashboard tests' shared server (see dashboard_demo.py): import constants from `dashboard_demo`."""

from dashboard_demo import PERIOD, SINCE, UNTIL, DemoServer, demo_server  # noqa: F401
