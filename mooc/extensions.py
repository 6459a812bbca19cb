"""The Flask extensions, created here unbound and bound to the app in create_app()."""

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from mooc.database import Base
from mooc.i18n import MoocBabel
from mooc.replica import RoutingSession

# RoutingSession: reads of report, export and search views may go to the read replica.
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = MoocBabel()

# The base class of every model. At run time it is db.Model, Flask-SQLAlchemy's subclass of
# Base; a type checker cannot take a base class from an attribute, so it sees Base, whose
# typing (Mapped columns, metadata) is what the models use.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
