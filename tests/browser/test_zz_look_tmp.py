import pytest
from datetime import timedelta, date
from crm.contacts.services import record_activity
from crm.contacts.custom_fields import define_custom_field
from crm.deals.services import close_deal
from crm.extensions import db
from tests.conftest import NOW, PASSWORD

def test_look(page, admin, alice, bob, mallory, pat, make_company, make_contact, make_deal, stages, families):
    define_custom_field(admin, "contact", "tier", "Account tier", "choice", ["Gold", "Silver"])
    define_custom_field(admin, "contact", "champion", "Champion", "boolean")
    db.session.commit()
    acme = make_company(name="Acme Pumps", domain="acmepumps.com", industry="Manufacturing", employee_count=1200, time_zone="America/Chicago")
    grace = make_contact(first_name="Grace", last_name="Hopper", email="grace@acmepumps.com", company_id=acme.id, owner_id=alice.id, custom={"tier": "Gold", "champion": True}, linkedin_url="https://www.linkedin.com/in/grace")
    for i in range(12):
        make_deal(name=f"Deal number {i} for a long customer name", company_id=acme.id, owner_id=[alice.id, bob.id][i % 2], stage_id=stages[i % 4].id, contact_id=grace.id,
                  lines=[{"family": "PUMP", "quantity": 3 + i, "unit_price": "1250"}, {"family": "VALVE", "quantity": 10, "unit_price": "80"}])
    d = make_deal(name="Lost one", company_id=acme.id)
    close_deal(admin, d.id, won=False, now=NOW, lost_reason="price")
    record_activity("note", NOW + timedelta(hours=1), contact_id=grace.id, company_id=acme.id, user_id=alice.id, details={"body": "Line one\nLine two"})
    db.session.commit()
    def login(email):
        page.context.clear_cookies()
        page.goto("/login")
        page.screenshot(path="/tmp/look_login.png")
        page.fill("input[name=email]", email); page.fill("input[name=password]", PASSWORD); page.click("button[type=submit]")
        page.wait_for_load_state()
    login(admin.email)
    shots = {"board": "/deals/board", "deals": "/deals?status=all", "deal": "/deals/1", "deal_edit": "/deals/1/edit",
             "company": f"/companies/{acme.id}", "companies": "/companies", "contact_new": "/contacts/new",
             "users": "/admin/users", "families": "/admin/families", "stages": "/admin/stages", "fields": "/admin/custom-fields",
             "user_new": "/admin/users/new", "contacts_filter_none": "/contacts?q=zzzz"}
    for name, path in shots.items():
        page.goto(path)
        page.screenshot(path=f"/tmp/look_{name}.png", full_page=True)
    page.goto("/deals/1/edit")
    page.click("[data-add-line]")
    page.fill("input[name='lines-5-quantity']", "2")
    page.screenshot(path="/tmp/look_deal_edit_js.png", full_page=True)
    page.goto("/contacts/new")
    page.fill("input[name=email]", "bad")
    page.click("form.form-card button[type=submit]")
    page.wait_for_load_state()
    page.screenshot(path="/tmp/look_contact_errors.png", full_page=True)
    page.goto("/deals/1")
    page.select_option("select[name=outcome]", "lost")
    page.click("text=Close deal")
    page.wait_for_load_state()
    page.screenshot(path="/tmp/look_deal_close_error.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in {"board_phone": "/deals/board", "deal_phone": "/deals/1", "deal_edit_phone": "/deals/1/edit", "contact_phone": f"/contacts/{grace.id}"}.items():
        page.goto(path)
        page.screenshot(path=f"/tmp/look_{name}.png", full_page=True)
    print("ERRORS", page.console_errors)
