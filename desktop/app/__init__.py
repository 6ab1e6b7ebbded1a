"""The application around the layers: start-up, self-test, crash reports, settings, folders.

``launch`` starts the window or the command line; ``selftest`` checks an installation end to
end; ``crash``, ``settings``, ``paths``, ``resources``, ``files`` and ``options`` are the
small helpers the window and the command line share. Importing this package loads nothing:
the unlock window must not wait for what it does not need.
"""
