"""The shared transport delivers to a real SMTP server, and development writes files."""
from email.message import EmailMessage

from crm.mail.transport import send_message


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "rep@northwind-demo.com"
    message["To"] = to
    message["Subject"] = "Hello"
    message["Message-ID"] = "<abc.123@crm.example.com>"
    message.set_content("Body text")
    return message


def test_send_message_reaches_the_smtp_server(smtp_sink):
    send_message(_message("ana@acme-pumps.com"))
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["ana@acme-pumps.com"]
    assert received.message["Subject"] == "Hello"
    assert received.message.get_content().strip() == "Body text"


def test_file_transport_writes_an_eml_and_sends_nothing(app, tmp_path, smtp_sink):
    app.config.update(MAIL_TRANSPORT="file", INSTANCE_DIR=tmp_path)
    send_message(_message("ana@acme-pumps.com"))
    assert smtp_sink.messages == []
    [path] = (tmp_path / "sent-mail").iterdir()
    assert b"Subject: Hello" in path.read_bytes()
