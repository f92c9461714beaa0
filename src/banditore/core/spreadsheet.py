"""CSV files an office opens in Excel: a BOM so accents survive, and no cell a spreadsheet
would run as a formula."""

BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: names and provider texts
# come from outside, so they are defused with an apostrophe (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


class CommandOut:
    """A management command's stdout as a csv.writer's file: no line ending added."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")
