"""Documents: tracked documents (PDF) and videos, shared with contacts by signed links.

Owns: the team library (folders, items), rendered pages with their text, share links, the
browsers known to read a link, forwards, viewing sessions and their seconds per page
(``models.py``); the upload checks (``storage.py``: PDF opened by pdfium, MP4/WebM read by
ffprobe, ``.part`` renamed after commit), the worker's rendering (``render.py``, ``worker.py``:
pypdfium2 pages, ffmpeg poster frames, the email thumbnail with a play button), the public
viewer and watch page (``public_views.py``, blueprint ``documents_public`` under ``/d/``, script
``static/documents_viewer.js``) and the rep's pages (``views.py``).

Offers (``crm.documents.services``): ``video_token`` (sequences' ``{{ video }}``),
``contact_content`` (the contact page's panel), and the library, link and analytics services
its pages, API and CLI call.

Calls: tracking (``judge_request``: the verdict rules on each viewing session), scoring
(``record_event``: a person reading or watching is engagement), alerts (``notify``: "reading
now", "forwarded to"), contacts (timeline entries, contacts created at the forward gate).
"""
