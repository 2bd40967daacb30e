"""The words the API, the website, the engine and webhooks share.

PyGAD's parameter rules, what a request may ask for, how each resource is shown, the
status vocabulary and the URL scheme. Nothing here imports Flask or any module above
it (api/, web/), so a process that only runs jobs can use all of it.
"""
