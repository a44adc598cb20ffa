"""The Django view channels2_app serves through Channels 2's AsgiHandler."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def index(request):
    if request.method == "POST":
        return HttpResponse(f"received {len(request.body)} bytes")
    return HttpResponse("hello from Django")


urlpatterns = [path("django/", index)]
