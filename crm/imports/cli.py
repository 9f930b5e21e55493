from flask.cli import AppGroup

import_group = AppGroup("import", help="Import contacts or deals from CSV.")
