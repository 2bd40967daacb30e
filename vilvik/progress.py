"""What wait(progress=...) does after each poll, for a submission or an experiment alike."""
import sys


class Reporter:
    """Nothing (progress=False), a live stderr line (progress=True) or a callback (progress=callable)."""

    def __init__(self, progress, format_line):
        self.callback = progress if callable(progress) else None
        self.stream = sys.stderr if progress is True else None
        self.format_line = format_line
        self.last = None

    def __call__(self, obj):
        if self.callback is not None:
            self.callback(obj)
        elif self.stream is not None:
            line = self.format_line(obj)
            if line != self.last:
                self.stream.write("\r" + line.ljust(len(self.last or "")))
                self.stream.flush()
                self.last = line

    def finish(self):
        """End the live line, if one was written."""
        if self.stream is not None and self.last is not None:
            self.stream.write("\n")
            self.stream.flush()
