"""WSGI entry point."""

import gc
import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
# Threaded workers wait on the database with the GIL released; a thread whose query returned
# should get the GIL back quickly, not after the default 5 ms, or every lock it holds in the
# database (the audit chain's head) is held that much longer.
sys.setswitchinterval(float(os.environ.get("GRIDGUARD_SWITCH_INTERVAL", "0.0005")))
application = get_wsgi_application()
# What start-up made (modules, URL patterns, templates) lives as long as the process: keep it
# out of the collector's way, so its pauses stay short under load.
gc.collect()
gc.freeze()
