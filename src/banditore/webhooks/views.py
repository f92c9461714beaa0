from django.http import HttpResponse


def whatsapp_webhook(request, channel_id: int):
    return HttpResponse(status=501)
