"""One account status per person, the same in SQL and in Python."""

from datetime import timedelta

from mooc import clock
from mooc.auth.models import LoginThrottle, User
from mooc.extensions import db
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus
from tests.conftest import save


def test_each_status_is_told_apart(app, make_staff, make_user):
    nobody = make_staff("Lê Văn Không")
    invited = make_staff("Lê Văn Mời", email="moi@example.vn")
    active = make_staff("Lê Văn Dùng", email="dung@example.vn")
    locked = make_staff("Lê Văn Khóa", email="khoa@example.vn")
    disabled = make_staff("Lê Văn Tắt", email="tat@example.vn")
    save(app, User(email="moi@example.vn", display_name="Mời", staff_id=invited.id))
    make_user(email="dung@example.vn", staff=active)
    make_user(email="Khoa@example.vn", staff=locked)
    make_user(email="tat@example.vn", staff=disabled, active=False)
    save(app, LoginThrottle(email="khoa@example.vn", failures=0,
                            locked_until=clock.now() + timedelta(minutes=10)))
    with app.app_context():
        statuses = account_status.of_many([nobody.id, invited.id, active.id, locked.id, disabled.id])
        assert [statuses[s.id] for s in (nobody, invited, active, locked, disabled)] == [
            AccountStatus.NONE, AccountStatus.INVITED, AccountStatus.ACTIVE,
            AccountStatus.LOCKED, AccountStatus.DISABLED]
        # A lock that has run out is no lock.
        later = clock.now() + timedelta(minutes=11)
        assert account_status.of(db.session.merge(locked), later) is AccountStatus.ACTIVE
        assert [s.can_sign_in for s in AccountStatus] == [False, False, True, True, False, False, False]
