"""Benchmark variants of the web app (selected by DJANGO_SETTINGS_MODULE) and its round
trip count: `python -m web.bench` prints {"web": [reads, writes]} per request."""
