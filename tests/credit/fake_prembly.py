"""A local fake of Prembly IdentityPass's BVN and NIN look-ups, built from its documentation.

Real HTTP on 127.0.0.1 (werkzeug in a thread), so the adapter is tested over the wire. What the
documentation says, and the fake does (pages in docs/identity.md):
- ``POST /api/v2/biometrics/merchant/data/verification/bvn`` body ``{"number": <BVN>}`` and
  ``POST /api/v2/biometrics/merchant/data/verification/nin_wo_face`` body ``{"number_nin": <NIN>}``
  (``number`` is the virtual NIN there), JSON;
- headers ``x-api-key`` and ``app-id`` on every call; the fake answers 401 to a wrong pair;
- a found record: HTTP 200 ``{"status": true, "detail": "Verification Successful",
  "response_code": "00", "data"|"nin_data": {...}, "verification": {"status": "VERIFIED",
  "reference": <uuid>}}`` with the BVN holder's ``firstName``/``middleName``/``lastName``/
  ``dateOfBirth`` ("12-Apr-1990", as the BVN Basic page shows) and the NIN holder's
  ``firstname``/``middlename``/``surname``/``birthdate`` ("12 APR 1990");
- custom ``response_code`` inside HTTP 200: 01 record not found (``status`` false), 02 service not
  available, 03 insufficient wallet balance, 07 blocked / watch-listed (BVN only).

Test controls: ``records[(id_type, number)]`` (first, middle, last, date), ``code[number]`` forces a
response code, ``fail(status, times)`` answers an HTTP error, ``hang(seconds, times)`` answers late;
``calls`` counts requests per (id type, number).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from datetime import date

from werkzeug.wrappers import Request, Response

from tests.helpers import LoopbackServer

BASE_PATH = "/api/v2/biometrics/merchant/data/verification"
ROUTES = {f"{BASE_PATH}/bvn": ("BVN", "number"), f"{BASE_PATH}/nin_wo_face": ("NIN", "number_nin")}
CODES = {"01": "Record not found. The ID data you entered does not exist or may be incorrect.",
         "02": "Verification can't be completed by this time, kindly retry later.",
         "03": "Insufficient wallet balance", "07": "Blocked/Watch listed"}


class FakePrembly(LoopbackServer):
    def __init__(self, api_key: str, app_id: str):
        self.api_key, self.app_id = api_key, app_id
        self._lock = threading.Lock()
        self.reset()
        super().__init__()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.records: dict[tuple[str, str], tuple[str, str, str, date]] = {}
            self.code: dict[str, str] = {}
            self.calls: Counter = Counter()
            self.requests: list[dict] = []
            self.faults: list[dict] = []

    def person(self, id_type: str, number: str, first: str, middle: str, last: str, born: date) -> None:
        self.records[(id_type, number)] = (first, middle, last, born)

    def fail(self, status: int = 500, times: int = 1) -> None:
        self.faults.append({"status": status, "remaining": times})

    def hang(self, seconds: float, times: int = 1) -> None:
        self.faults.append({"hang": seconds, "remaining": times})

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        route = ROUTES.get(request.path)
        if route is None or request.method != "POST":
            return self._json(404, {"status": False, "detail": "Not found"})(environ, start_response)
        id_type, field = route
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = {}
        number = str(body.get(field) or "")
        with self._lock:
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
            self.calls[(id_type, number)] += 1
            fault = next((f for f in self.faults if f["remaining"]), None)
            if fault:
                fault["remaining"] -= 1
        if (request.headers.get("x-api-key"), request.headers.get("app-id")) != (self.api_key, self.app_id):
            return self._json(401, {"status": False, "detail": "Invalid API key or app id"})(environ, start_response)
        if fault and "status" in fault:
            return self._json(fault["status"], {"status": False, "detail": "fake: injected failure"})(
                environ, start_response)
        if fault and "hang" in fault:
            time.sleep(fault["hang"])
        if not number:
            return self._json(400, {"status": False, "detail": f"{field} is required"})(environ, start_response)
        return self._answer(id_type, number)(environ, start_response)

    def _answer(self, id_type: str, number: str) -> Response:
        reference = str(uuid.uuid4())
        code = self.code.get(number) or ("00" if (id_type, number) in self.records else "01")
        if code != "00":
            status = "NOT-VERIFIED" if code in ("01", "07") else "PENDING"
            return self._json(200, {"status": False, "response_code": code, "detail": CODES[code],
                                    "verification": {"status": status, "reference": reference}})
        first, middle, last, born = self.records[(id_type, number)]
        if id_type == "BVN":
            record_key = "data"
            record = {"bvn": number, "firstName": first, "middleName": middle, "lastName": last,
                      "dateOfBirth": born.strftime("%d-%b-%Y"), "phoneNumber1": "08012345678", "gender": "Female",
                      "watchListed": "NO"}
        else:
            record_key = "nin_data"
            record = {"nin": number, "firstname": first, "middlename": middle, "surname": last,
                      "birthdate": born.strftime("%d %b %Y").upper(), "gender": "f", "telephoneno": "08012345678"}
        return self._json(200, {"status": True, "detail": "Verification Successful", "response_code": "00",
                                record_key: record, "verification": {"status": "VERIFIED", "reference": reference}})

    @staticmethod
    def _json(status: int, payload) -> Response:
        return Response(json.dumps(payload), status=status, mimetype="application/json")
