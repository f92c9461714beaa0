from django.shortcuts import render

from banditore.console.access import staff


@staff()
def dashboard(request):
    return render(request, "console/dashboard.html", {})
